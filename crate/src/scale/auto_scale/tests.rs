//! The scale search step by step, on rods drawn to a given width: where it settles, how far
//! it may move, and which scales it tries and takes back.

use super::*;

/// `n` upright rods `width` px wide and 3 widths long, side by side with gaps.
fn rods(n: usize, width: usize) -> Cells {
    let (length, gap) = (3 * width, 2);
    let (w, h) = (n * (width + gap), length);
    let mut labels = vec![0; w * h];
    for k in 0..n {
        for y in 0..length {
            for x in 0..width {
                labels[y * w + k * (width + gap) + x] = k as u32 + 1;
            }
        }
    }
    Cells {
        width: w,
        height: h,
        labels,
        areas: vec![(width * length) as u32; n],
    }
}

fn measured(width: usize) -> f64 {
    scale::typical_width(&rods(5, width)).unwrap()
}

#[test]
fn cells_as_wide_as_expected_settle_the_scale() {
    // at ×1, cells as wide as the tutorial's agree with it
    let width = scale::TUTORIAL_CELL_WIDTH.round() as usize;
    let mut search = ScaleSearch::from(1.0, "given".into());
    let check = search.check(&rods(5, width));
    assert!(matches!(check, Check::Agrees { .. }), "{check:?}");
    assert!(search.settled());
    assert_eq!(search.factor(), 1.0);
    assert!(search.how().contains("as expected"), "{}", search.how());
    assert_eq!(search.confirmed_by(), Some(5), "five cells agreed");
    assert_eq!(search.doubt(), None);
}

#[test]
fn wider_cells_move_the_scale_down_and_then_agree() {
    let mut search = ScaleSearch::from(1.0, "given".into());
    let check = search.check(&rods(5, 20));
    let expected = scale::factor_for_width(measured(20));
    assert_eq!(
        check,
        Check::Again {
            factor: expected,
            width: measured(20)
        }
    );
    assert!(!search.settled());
    assert_eq!(search.factor(), expected);
    // segmented again at that scale, the cells (in the image's pixels) are as wide again
    assert!(matches!(search.check(&rods(5, 20)), Check::Agrees { .. }));
    assert!(search.settled());
}

#[test]
fn the_checks_stay_within_an_octave_and_stop() {
    // cells four times the tutorial's width, from a start at ×1: an octave at most
    let mut search = ScaleSearch::from(1.0, "given".into());
    let wide = rods(5, 52);
    assert_eq!(
        search.check(&wide),
        Check::Again {
            factor: 1.0 / REACH,
            width: measured(52)
        }
    );
    // the same answer again is the same (clamped) factor: it agrees, but the limit, not
    // the cells, put the scale there
    assert!(matches!(search.check(&wide), Check::Agrees { .. }));
    assert_eq!(search.confirmed_by(), None);
    // and the search says the answer is doubtful rather than "as expected"
    let doubt = search.doubt().expect("a doubt");
    assert!(
        doubt.contains("would want ×0.24") && doubt.contains("×0.500–×2.000"),
        "{doubt}"
    );
    assert!(!search.how().contains("as expected"), "{}", search.how());
    // so is finding too few cells once the limit held the scale (bright blobs on black
    // taken for a few huge cells), and a later agreement within reach clears it
    let mut search = ScaleSearch::from(1.0, "given".into());
    search.check(&wide);
    assert_eq!(search.check(&rods(2, 52)), Check::TooFew);
    assert!(search.doubt().is_some() && search.how().ends_with("by hand"));
    let mut search = ScaleSearch::from(1.0, "given".into());
    search.check(&rods(5, 40));
    assert!(
        search.doubt().is_none(),
        "held at the octave's edge, but not settled yet"
    );
    assert!(matches!(search.check(&rods(5, 25)), Check::Agrees { .. }));
    assert_eq!((search.doubt(), search.confirmed_by()), (None, Some(5)));

    // cells that never agree (each segmentation finds them at another width) stop after
    // CHECKS rounds, and the search says so
    let mut search = ScaleSearch::from(1.0, "given".into());
    let widths = [18, 11, 18, 11, 18];
    let outcomes: Vec<Check> = widths.iter().map(|&w| search.check(&rods(5, w))).collect();
    assert!(
        outcomes[..CHECKS]
            .iter()
            .all(|c| matches!(c, Check::Again { .. }))
    );
    assert_eq!(outcomes[CHECKS], Check::NotSettled);
    assert!(search.settled());
    // the last scale is no answer the cells agreed with: it is doubted, not passed off
    let doubt = search.doubt().expect("a doubt");
    assert!(
        doubt.contains("after 3 checks the cells found at"),
        "{doubt}"
    );
    assert!(search.how().ends_with("by hand"), "{}", search.how());
    assert_eq!(search.confirmed_by(), None);
    // and a settled search checks nothing more
    assert_eq!(search.check(&rods(5, 18)), Check::NotSettled);

    // a swing that has nearly settled (the last ask within twice the agreement) is kept
    let asks = |w: usize| scale::factor_for_width(measured(w));
    let (a, b) = (asks(12), asks(13));
    assert!((a / b - 1.0).abs() > AGREE && (a / b - 1.0).abs() < 2.0 * AGREE);
    assert!((a - 1.0).abs() > AGREE, "the first check moves");
    let mut search = ScaleSearch::from(1.0, "given".into());
    let outcomes: Vec<Check> = [12, 13, 12, 13]
        .iter()
        .map(|&w| search.check(&rods(5, w)))
        .collect();
    assert_eq!(outcomes[CHECKS], Check::NotSettled);
    assert_eq!(search.doubt(), None);
    assert!(search.how().ends_with("want: kept"), "{}", search.how());

    // a limit's doubt is not overwritten by the checks' not settling
    let mut search = ScaleSearch::from(1.0, "given".into());
    for w in [52, 13, 52, 13] {
        search.check(&rods(5, w));
    }
    assert!(search.settled());
    let doubt = search.doubt().expect("a doubt");
    assert!(
        doubt.contains("beyond what the checks may reach"),
        "{doubt}"
    );
}

/// A search at ×1 because no cell width stood out in the image.
fn guessed() -> ScaleSearch {
    ScaleSearch {
        guessed: true,
        width_unclear: true,
        ..ScaleSearch::from(1.0, "no width stands out".into())
    }
}

#[test]
fn where_a_guessed_one_finds_nothing_the_strongest_features_scale_is_tried() {
    // a small crop whose features answered best at ×0.51, no width standing out; ×1
    // found no cell
    let unclear = || ScaleSearch {
        unclear_factor: Some(0.51),
        ..guessed()
    };
    let none = rods(0, 8);
    let mut search = unclear();
    assert_eq!(
        search.check_found(&none, &none, Doubted::Nothing),
        Check::Again {
            factor: 0.51,
            width: 0.0
        }
    );
    assert!(search.how().contains("×0.510, where the features"));
    // one plain cell there: it stands, said to be a guess
    let one = rods(1, 24);
    assert_eq!(
        search.check_found(&one, &one, Doubted::Nothing),
        Check::TooFew
    );
    assert!((search.factor() - 0.51).abs() < 1e-9);
    assert!(search.doubt().unwrap().contains("it is a guess"));

    // a "cell" that is no plain dark body, or none at all: back to ×1, and nothing to say
    for (cells, doubted) in [
        (one.clone(), Doubted::Unplain),
        (none.clone(), Doubted::Nothing),
    ] {
        let mut search = unclear();
        search.check_found(&none, &none, Doubted::Nothing);
        assert_eq!(
            search.check_found(&cells, &cells, doubted),
            Check::Again {
                factor: 1.0,
                width: 0.0
            }
        );
        assert_eq!(
            search.check_found(&none, &none, Doubted::Nothing),
            Check::TooFew
        );
        assert_eq!(search.factor(), 1.0);
        assert_eq!(search.doubt(), None, "{}", search.how());
    }

    // beyond the octave the checks reach, its edge is tried
    let mut far = ScaleSearch {
        unclear_factor: Some(0.3),
        ..guessed()
    };
    assert_eq!(
        far.check_found(&none, &none, Doubted::Nothing),
        Check::Again {
            factor: 1.0 / REACH,
            width: 0.0
        }
    );

    // not tried where ×1 found a cell (an octave up is, instead), where the image was
    // measured or is noise, or where the features' scale is ×1's
    let mut found_one = unclear();
    assert_eq!(
        found_one.check_found(&one, &one, Doubted::Nothing),
        Check::Again {
            factor: 2.0,
            width: 0.0
        }
    );
    for mut other in [
        ScaleSearch {
            unclear_factor: Some(0.51),
            ..ScaleSearch::from(1.0, "measured".into())
        },
        ScaleSearch {
            width_unclear: false,
            ..unclear()
        },
        ScaleSearch {
            unclear_factor: Some(1.03),
            ..guessed()
        },
    ] {
        assert_eq!(
            other.check_found(&none, &none, Doubted::Nothing),
            Check::TooFew
        );
    }
    // nor once a check has moved the scale (cells' widths spoke): a colony twice the
    // tutorial's width at ×1 moves it to ×0.5, where none is found (the features' ×1.8
    // would be tried, were it not for the move)
    let mut moved = ScaleSearch {
        unclear_factor: Some(1.8),
        ..guessed()
    };
    let colony = rods(POPULATION, 2 * scale::TUTORIAL_CELL_WIDTH.round() as usize);
    assert!(matches!(
        moved.check_found(&colony, &colony, Doubted::Nothing),
        Check::Again { .. }
    ));
    assert_eq!(
        moved.check_found(&none, &none, Doubted::Nothing),
        Check::TooFew
    );
    assert!(!moved.how().contains("where the features"));
}

#[test]
fn a_guessed_scale_that_ends_on_few_or_doubtful_cells_tries_an_octave_up() {
    // a colony of cells too small for the networks at ×1: clumps as wide as the
    // tutorial's cells, which the networks are unsure of
    let tutorial = scale::TUTORIAL_CELL_WIDTH.round() as usize;
    let clumps = rods(POPULATION, tutorial);
    let mut search = guessed();
    let octave = Check::Again {
        factor: 2.0,
        width: 0.0,
    };
    assert_eq!(
        search.check_found(&clumps, &clumps, Doubted::Unsure),
        octave
    );
    assert!(search.how().contains("×2.000, an octave up, to try"));
    // the cells found there, as many as the doubts need and none said: it stands, and
    // the checks go on from there
    let cells = rods(POPULATION, tutorial / 2);
    let check = search.check_found(&cells, &cells, Doubted::Nothing);
    assert!(
        matches!(check, Check::Agrees { .. } | Check::Again { .. }),
        "{check:?}"
    );
    assert!(search.factor() > 1.9, "{}", search.how());
    assert!(!search.how().contains("back to scale"), "{}", search.how());
    // doubted there, unsure, without halos, or too few: back to ×1, where the search ends
    for (cells, doubted) in [
        (rods(POPULATION, tutorial), Doubted::Cells),
        (rods(POPULATION, tutorial), Doubted::Unsure),
        (rods(POPULATION, tutorial), Doubted::Halo),
        (rods(4, tutorial), Doubted::Nothing),
    ] {
        let mut search = guessed();
        search.check_found(&clumps, &clumps, Doubted::Cells);
        assert_eq!(
            search.check_found(&cells, &cells, doubted),
            Check::Again {
                factor: 1.0,
                width: 0.0
            },
            "{doubted:?}"
        );
        assert!(matches!(
            search.check_found(&clumps, &clumps, Doubted::Cells),
            Check::Agrees { .. }
        ));
        assert_eq!(search.factor(), 1.0);
    }
    // two cells at ×1, too few to check it by: tried too
    let mut few = guessed();
    assert_eq!(
        few.check_found(&rods(2, 8), &rods(2, 8), Doubted::Nothing),
        octave
    );
    // not where nothing is doubted, where no cell was found, where the image was measured
    // or is noise, or where the cells ask for another scale (followed first)
    let narrower = rods(POPULATION, 8);
    for (mut search, cells, doubted) in [
        (guessed(), clumps.clone(), Doubted::Nothing),
        (guessed(), rods(0, 8), Doubted::Nothing),
        (
            ScaleSearch::from(1.0, "measured".into()),
            clumps.clone(),
            Doubted::Cells,
        ),
        (
            ScaleSearch {
                width_unclear: false,
                ..guessed()
            },
            rods(2, 8),
            Doubted::Nothing,
        ),
        (guessed(), narrower.clone(), Doubted::Cells),
    ] {
        let check = search.check_found(&cells, &cells, doubted);
        assert_ne!(check, octave, "{}", search.how());
        assert!(!search.how().contains("an octave up"), "{}", search.how());
    }
}

#[test]
fn a_guessed_one_keeps_cells_up_to_half_as_wide_again() {
    // a colony of rods 1.4× the tutorial's width at a guessed ×1: a wider bacterium,
    // kept at ×1
    let width = (1.4 * scale::TUTORIAL_CELL_WIDTH).round() as usize;
    let colony = rods(POPULATION, width);
    let mut search = guessed();
    assert!(matches!(search.check(&colony), Check::Agrees { .. }));
    assert!(search.settled());
    assert_eq!(search.factor(), 1.0);
    assert_eq!(search.doubt(), None);
    assert_eq!(search.confirmed_by(), Some(POPULATION));
    let how = search.how();
    let range = format!(
        "segment well at ×1 ({:.1}–{:.1} px): kept",
        (1.0 - AGREE) * scale::TUTORIAL_CELL_WIDTH,
        WIDER * scale::TUTORIAL_CELL_WIDTH
    );
    assert!(how.contains(&range), "{how}");
    // cells as wide as the tutorial's agree as they always did
    let mut search = guessed();
    let tutorial = scale::TUTORIAL_CELL_WIDTH.round() as usize;
    assert!(matches!(
        search.check(&rods(POPULATION, tutorial)),
        Check::Agrees { .. }
    ));
    assert!(search.how().ends_with("as expected"), "{}", search.how());
    // the same rods where the networks are unsure of them (pieces of wider cells) or
    // doubt them aim at the tutorial's width; where only the halo's doubt is said, or
    // nothing, they keep ×1
    for (doubted, kept) in [
        (Doubted::Unsure, false),
        (Doubted::Cells, false),
        (Doubted::Halo, true),
        (Doubted::Nothing, true),
    ] {
        let mut search = guessed();
        let check = search.check_found(&colony, &colony, doubted);
        assert_eq!(
            matches!(check, Check::Agrees { .. }),
            kept,
            "{doubted:?}: {check:?}"
        );
    }
    // the same rods from a start the image measured aim at the tutorial's width; so do a
    // few of them at a guess (a sparse field's rods, perhaps with specks among them), and
    // a colony at a ×1 that stands for a field of noise
    let mut measured_start = ScaleSearch::from(1.0, "measured".into());
    assert!(matches!(measured_start.check(&colony), Check::Again { .. }));
    let mut few = guessed();
    let check = few.check(&rods(POPULATION - 1, width));
    assert!(matches!(check, Check::Again { .. }));
    let mut noise = ScaleSearch {
        width_unclear: false,
        ..guessed()
    };
    assert!(matches!(noise.check(&colony), Check::Again { .. }));
    // wider than that, and narrower than the tutorial's, move a guess as before
    for width in [(1.7 * scale::TUTORIAL_CELL_WIDTH) as usize, 8] {
        let mut search = guessed();
        let check = search.check(&rods(POPULATION, width));
        let expected = scale::factor_for_width(measured(width));
        assert_eq!(
            check,
            Check::Again {
                factor: expected,
                width: measured(width)
            },
            "{width} px"
        );
    }
    // once moved, the checks aim at the tutorial's width: the band is the first ×1's
    // alone. Rods of 8 px take the scale to about ×1.6, where rods of 10 px are seen
    // 1.25× as wide as the tutorial's: they move it again.
    let mut search = guessed();
    search.check(&rods(POPULATION, 8));
    let seen = measured(10) * search.factor() / scale::TUTORIAL_CELL_WIDTH;
    assert!((1.1..WIDER).contains(&seen), "{seen}");
    let check = search.check(&rods(POPULATION, 10));
    assert!(matches!(check, Check::Again { .. }), "{check:?}");
    assert!(!search.how().contains("segment well"), "{}", search.how());
}

#[test]
fn wider_cells_with_the_tutorials_sharp_edges_are_segmented_at_one() {
    // a colony of rods 1.2× the tutorial's width, from a start the image measured (×0.78):
    // where the image's edges are as sharp as the tutorial's, a wider bacterium, at ×1
    let width = (1.2 * scale::TUTORIAL_CELL_WIDTH).round() as usize;
    let colony = rods(POPULATION, width);
    let sharp = Some(edges::TUTORIAL_EDGE_RISE);
    let mut search = ScaleSearch::from(0.78, "measured".into());
    let check = search.check_found_with_edges(&colony, &colony, Doubted::Nothing, sharp);
    assert_eq!(
        check,
        Check::Again {
            factor: 1.0,
            width: measured(width)
        }
    );
    assert!(
        search.how().contains("as sharp as the tutorial's"),
        "{}",
        search.how()
    );
    // found again at ×1, as wide: kept, and the colony confirms it (their outlines at ×1
    // follow the edges closer, and read them sharper than the tutorial's band)
    let closer = Some(0.85 * edges::TUTORIAL_EDGE_RISE);
    let check = search.check_found_with_edges(&colony, &colony, Doubted::Nothing, closer);
    assert!(matches!(check, Check::Agrees { .. }), "{check:?}");
    assert!(search.settled());
    assert_eq!(search.factor(), 1.0);
    assert_eq!(search.confirmed_by(), Some(POPULATION));
    assert_eq!(search.doubt(), None);
    assert!(
        search.how().ends_with("as sharp as the tutorial's: kept"),
        "{}",
        search.how()
    );
    // the same colony magnified blurs its edges with it; edges sharper than the tutorial's
    // are other optics, magnified or not; edges unmeasured, a few rods, rods
    // the networks are unsure of or that are doubted, and rods wider than the band all aim
    // at the tutorial's width, as before
    let blurred = Some(1.2 * edges::TUTORIAL_EDGE_RISE);
    let sharper = Some(0.7 * edges::TUTORIAL_EDGE_RISE);
    let wide = (1.7 * scale::TUTORIAL_CELL_WIDTH).round() as usize;
    for (cells, doubted, edges, what) in [
        (colony.clone(), Doubted::Nothing, blurred, "blurred"),
        (colony.clone(), Doubted::Nothing, sharper, "other optics"),
        (colony.clone(), Doubted::Nothing, None, "unmeasured"),
        (rods(POPULATION - 1, width), Doubted::Nothing, sharp, "few"),
        (colony.clone(), Doubted::Unsure, sharp, "unsure"),
        (colony.clone(), Doubted::Cells, sharp, "doubted"),
        (rods(POPULATION, wide), Doubted::Nothing, sharp, "wider"),
    ] {
        let mut search = ScaleSearch::from(0.78, "measured".into());
        let check = search.check_found_with_edges(&cells, &cells, doubted, edges);
        let width = scale::typical_width(&cells).unwrap();
        let wanted = scale::factor_for_width(width);
        let aims = match check {
            Check::Again { factor, .. } => factor == wanted,
            Check::Agrees { .. } => (wanted / 0.78 - 1.0).abs() <= AGREE,
            _ => false,
        };
        assert!(aims, "{what}: {check:?}, {}", search.how());
        assert!(
            !search.how().contains("as sharp"),
            "{what}: {}",
            search.how()
        );
    }
    // taken to ×1, where the cells found are wider than the band (neighbours merged): the
    // search moves away, and the edges are not asked again
    let mut search = ScaleSearch::from(0.78, "measured".into());
    search.check_found_with_edges(&colony, &colony, Doubted::Nothing, sharp);
    assert_eq!(search.factor(), 1.0);
    let merged = rods(POPULATION, wide);
    let check = search.check_found_with_edges(&merged, &merged, Doubted::Nothing, sharp);
    let away = scale::factor_for_width(measured(wide));
    assert_eq!(
        check,
        Check::Again {
            factor: away,
            width: measured(wide)
        }
    );
    let check = search.check_found_with_edges(&colony, &colony, Doubted::Nothing, sharp);
    assert_eq!(
        check,
        Check::Again {
            factor: scale::factor_for_width(measured(width)),
            width: measured(width)
        },
        "{}",
        search.how()
    );
    // ×1 beyond the checks' reach (an octave from a start of ×0.4): not taken there
    let mut far = ScaleSearch::from(0.4, "measured".into());
    let check = far.check_found_with_edges(&colony, &colony, Doubted::Nothing, sharp);
    assert!(!far.how().contains("as sharp"), "{check:?}: {}", far.how());
    // cells as wide as the tutorial's, or narrower, are not moved to ×1 by sharp edges
    let mut search = ScaleSearch::from(1.4, "measured".into());
    let narrow = rods(POPULATION, 9);
    let check = search.check_found_with_edges(&narrow, &narrow, Doubted::Nothing, sharp);
    let wanted = scale::factor_for_width(measured(9));
    assert!(
        matches!(check, Check::Agrees { .. })
            || check
                == Check::Again {
                    factor: wanted,
                    width: measured(9)
                },
        "{check:?}"
    );
}

#[test]
fn specks_beside_the_cells_are_not_counted_as_confirming_them() {
    // three rods as wide as the tutorial's and nine 2 × 2 specks of debris
    let (w, h) = (100, 40);
    let mut labels = vec![0; w * h];
    let mut areas = Vec::new();
    for k in 0..3 {
        for y in 0..39 {
            for x in 0..13 {
                labels[y * w + 15 * k + x] = k as u32 + 1;
            }
        }
        areas.push(13 * 39);
    }
    for k in 0..9 {
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            labels[dy * w + 50 + 4 * k + dx] = k as u32 + 4;
        }
        areas.push(4);
    }
    let cells = Cells {
        width: w,
        height: h,
        labels,
        areas,
    };
    let mut search = ScaleSearch::from(1.0, "given".into());
    assert!(matches!(search.check(&cells), Check::Agrees { .. }));
    assert_eq!(
        search.confirmed_by(),
        Some(3),
        "the rods, not the 12 objects"
    );
}

#[test]
fn too_few_cells_keep_the_scale() {
    let mut search = ScaleSearch::from(0.8, "given".into());
    assert_eq!(search.check(&rods(MIN_CELLS - 1, 30)), Check::TooFew);
    assert!(search.settled());
    assert_eq!(search.factor(), 0.8);
    assert_eq!(search.confirmed_by(), None);
    assert!(search.how().contains("cells found there to check it by"));
    let doubt = search.doubt().expect("an estimate nothing checked");
    assert!(
        doubt.starts_with("only 2 cell(s) found at ×0.800"),
        "{doubt}"
    );
    // no cell at all where the image's features set the scale: ×1 is tried, and where
    // nothing is found there either, they may be cells the networks do not know
    let mut search = ScaleSearch::from(0.8, "given".into());
    assert_eq!(
        search.check(&rods(0, 30)),
        Check::Again {
            factor: 1.0,
            width: 0.0
        }
    );
    assert!(!search.settled() && search.doubt().is_none());
    assert_eq!(search.check(&rods(0, 30)), Check::TooFew);
    let doubt = search.doubt().expect("features that are no cell");
    assert!(
        doubt.starts_with("no cell was found at ×0.800") && doubt.contains("nor at ×1.000"),
        "{doubt}"
    );
    assert!(search.how().ends_with("by hand"), "{}", search.how());
    // where ×1 finds cells, they check the scale as ever
    let mut search = ScaleSearch::from(0.5, "given".into());
    assert!(matches!(search.check(&rods(0, 30)), Check::Again { .. }));
    assert_eq!(search.factor(), 1.0);
    assert!(
        matches!(search.check(&rods(12, 13)), Check::Agrees { .. }),
        "{}",
        search.how()
    );
    assert_eq!(search.doubt(), None);
    // (and where the image's estimate is ×1 already, nothing else is tried)
    let mut search = ScaleSearch::from(1.0, "given".into());
    assert_eq!(search.check(&rods(0, 30)), Check::TooFew);
    assert!(search.doubt().is_some_and(|d| !d.contains("nor at")));
    // a scale the cells moved, where too few are found to confirm it, is a guess
    let mut search = ScaleSearch::from(1.0, "given".into());
    assert!(matches!(search.check(&rods(5, 20)), Check::Again { .. }));
    assert_eq!(search.check(&rods(MIN_CELLS - 1, 20)), Check::TooFew);
    let doubt = search.doubt().expect("a doubt");
    assert!(
        doubt.contains("came from the width of the cells found at ×1.000"),
        "{doubt}"
    );
    assert!(search.how().ends_with("by hand"), "{}", search.how());
    // and so is ×1 where the image gave no estimate and the cells found cannot measure one
    let mut search = ScaleSearch {
        guessed: true,
        ..ScaleSearch::from(1.0, "no width stands out".into())
    };
    assert_eq!(search.check(&rods(1, 20)), Check::TooFew);
    assert!(search.doubt().expect("a doubt").contains("it is a guess"));
    // (but no cell at all where nothing set the scale, a field of noise, is not a
    // doubtful one)
    let mut search = ScaleSearch {
        guessed: true,
        ..ScaleSearch::from(1.0, "no width stands out".into())
    };
    assert_eq!(search.check(&rods(0, 20)), Check::TooFew);
    assert_eq!(search.doubt(), None);
}

#[test]
fn packed_cells_too_thin_to_keep_try_the_scale_their_width_gives() {
    // at ×1 the networks found 12 thin cores (8 px wide) and the image bore out one
    let mut search = ScaleSearch::from(1.0, "measured".into());
    let found = rods(12, 8);
    let wanted = scale::TUTORIAL_CELL_WIDTH / measured(8);
    match search.check_found(&rods(1, 8), &found, Doubted::Nothing) {
        Check::Again { factor, .. } => assert!((factor - wanted).abs() < 1e-9, "{factor}"),
        other => panic!("{other:?}"),
    }
    assert!(
        search
            .how()
            .contains("12 cells found there, 1 of them standing out")
    );
    // kept there (the same cells, now whole, as wide as the new scale expects): it
    // stands, confirmed by them
    let kept = rods(12, 8);
    assert!(matches!(
        search.check_found(&kept, &kept, Doubted::Nothing),
        Check::Agrees { .. }
    ));
    assert_eq!(search.confirmed_by(), Some(12));
    assert_eq!(search.doubt(), None, "{}", search.how());
}

#[test]
fn a_tried_scale_that_keeps_too_few_is_taken_back() {
    // a sparse field: two cells kept among a population of specks the networks found
    let specks = rods(20, 5);
    let mut search = ScaleSearch::from(0.8, "measured".into());
    assert!(matches!(
        search.check_found(&rods(2, 20), &specks, Doubted::Nothing),
        Check::Again { .. }
    ));
    assert!(search.factor() > 0.8);
    // too few are kept at the new scale to stand for a population: back where it was...
    assert_eq!(
        search.check_found(&rods(POPULATION - 1, 30), &specks, Doubted::Nothing),
        Check::Again {
            factor: 0.8,
            width: 0.0
        }
    );
    assert!(
        search
            .how()
            .contains("only 9 stand out, which does not confirm it: back to scale ×0.800")
    );
    // ...where the two cells found again leave the estimate unchecked: ×1 is tried (no
    // population this time), keeps two as well and is taken back; then the two cells
    // end it as they would have, each try made only once
    assert_eq!(
        search.check_found(&rods(2, 20), &specks, Doubted::Nothing),
        Check::Again {
            factor: 1.0,
            width: 0.0
        }
    );
    assert_eq!(
        search.check_found(&rods(2, 20), &specks, Doubted::Nothing),
        Check::Again {
            factor: 0.8,
            width: 0.0
        }
    );
    assert_eq!(
        search.check_found(&rods(2, 20), &specks, Doubted::Nothing),
        Check::TooFew
    );
    assert_eq!(search.factor(), 0.8);
    let doubt = search.doubt().expect("an estimate nothing checked");
    assert!(
        doubt.starts_with("only 2 cell(s) found at ×0.800"),
        "{doubt}"
    );
    // a mottled field's texture, kept by the thousand at the new scale but doubted there,
    // does not confirm it either
    let mut mottled = ScaleSearch::from(1.2, "measured".into());
    let texture = rods(40, 8);
    assert!(matches!(
        mottled.check_found(&rods(0, 8), &texture, Doubted::Nothing),
        Check::Again { .. }
    ));
    assert_eq!(
        mottled.check_found(&texture, &texture, Doubted::Cells),
        Check::Again {
            factor: 1.2,
            width: 0.0
        }
    );
    assert!(
        mottled
            .how()
            .contains("are doubtful, which does not confirm it: back to scale ×1.200")
    );
    // nor where the checks are spent
    let mut spent = ScaleSearch {
        rounds: CHECKS,
        ..ScaleSearch::from(1.0, "measured".into())
    };
    assert_eq!(
        spent.check_found(&rods(1, 20), &specks, Doubted::Nothing),
        Check::TooFew
    );
    // where the image said nothing stands out from its noise, nothing is tried
    let mut noise = ScaleSearch {
        guessed: true,
        ..ScaleSearch::from(1.0, "no cells stand out from the noise".into())
    };
    assert_eq!(
        noise.check_found(&rods(0, 20), &specks, Doubted::Nothing),
        Check::TooFew
    );
    assert_eq!(noise.doubt(), None);
}

#[test]
fn an_estimate_that_finds_a_colony_as_one_cell_tries_the_tutorial_scale() {
    // a sparse field's colony answered as one blob: one "cell" at ×0.25
    let tutorial = scale::TUTORIAL_CELL_WIDTH.round() as usize;
    let colony = rods(1, 60);
    let mut search = ScaleSearch::from(0.25, "measured".into());
    assert_eq!(
        search.check_found(&colony, &colony, Doubted::Nothing),
        Check::Again {
            factor: 1.0,
            width: 0.0
        }
    );
    assert!(
        search
            .how()
            .contains("only 1 cell(s) found there, too few to check it by: ×1"),
        "{}",
        search.how()
    );
    // the colony's cells, found at ×1 as wide as the tutorial's: it stands, confirmed
    let cells = rods(12, tutorial);
    assert!(matches!(
        search.check_found(&cells, &cells, Doubted::Nothing),
        Check::Agrees { .. }
    ));
    assert_eq!(search.factor(), 1.0);
    assert_eq!(search.confirmed_by(), Some(12));
    assert_eq!(search.doubt(), None, "{}", search.how());

    // once it stands the checks reach an octave beyond both ×1 and the estimate
    for (width, low, high) in [(tutorial / 2, 1.5, 2.0), (50, 0.2, 0.3)] {
        let mut search = ScaleSearch::from(0.25, "measured".into());
        search.check_found(&colony, &colony, Doubted::Nothing);
        let found = rods(12, width);
        match search.check_found(&found, &found, Doubted::Nothing) {
            Check::Again { factor, .. } => assert!(low < factor && factor <= high, "{factor}"),
            other => panic!("{other:?}"),
        }
    }

    // too few kept at ×1 for the doubts to speak (under 5), or doubted there: back to
    // the estimate, which ends as it would have (too few to check it by, and said so)
    let few = crate::post::halo::MIN_CELLS - 1;
    for (kept, doubtful) in [
        (rods(few, tutorial), Doubted::Nothing),
        (cells.clone(), Doubted::Cells),
    ] {
        let mut search = ScaleSearch::from(0.25, "measured".into());
        search.check_found(&colony, &colony, Doubted::Nothing);
        assert_eq!(
            search.check_found(&kept, &kept, doubtful),
            Check::Again {
                factor: 0.25,
                width: 0.0
            }
        );
        assert!(search.how().contains("back to scale ×0.250"));
        assert_eq!(
            search.check_found(&colony, &colony, Doubted::Nothing),
            Check::TooFew
        );
        let doubt = search.doubt().expect("an estimate nothing checked");
        assert!(
            doubt.starts_with("only 1 cell(s) found at ×0.250"),
            "{doubt}"
        );
        assert!(doubt.contains("nor enough cells at ×1"), "{doubt}");
    }

    // the image's kind doubted alone (cells with faint halos): ×1 stands all the same,
    // where a population's try is taken back for it
    let mut search = ScaleSearch::from(0.25, "measured".into());
    search.check_found(&colony, &colony, Doubted::Nothing);
    assert!(matches!(
        search.check_found(&cells, &cells, Doubted::Halo),
        Check::Agrees { .. }
    ));
    assert_eq!(search.factor(), 1.0);
    let specks = rods(20, 5);
    let mut search = ScaleSearch::from(0.25, "measured".into());
    search.check_found(&colony, &specks, Doubted::Nothing);
    assert!(matches!(
        search.check_found(&cells, &cells, Doubted::Halo),
        Check::Again { factor: 0.25, .. }
    ));

    // a population as wide as the estimate expects, hardly any of it kept: its width
    // asks for no move, so ×1 is tried
    let as_expected = rods(POPULATION, 51);
    let mut search = ScaleSearch::from(0.25, "measured".into());
    assert_eq!(
        search.check_found(&colony, &as_expected, Doubted::Nothing),
        Check::Again {
            factor: 1.0,
            width: 0.0
        }
    );

    // ...as where the octave's edge holds it: no cell at the estimate, none at the edge
    // it moved to for ×1, and a population there that wants further than the reach
    let mut search = ScaleSearch::from(0.36, "measured".into());
    let none = rods(0, 8);
    assert_eq!(
        search.check_found(&none, &none, Doubted::Nothing),
        Check::Again {
            factor: 0.72,
            width: 0.0
        }
    );
    assert_eq!(
        search.check_found(&none, &rods(POPULATION, 6), Doubted::Nothing),
        Check::Again {
            factor: 1.0,
            width: 0.0
        }
    );

    // ×1 stood for cells without halos and the search ends where too few are found for
    // the halo's check to speak: it says so itself
    let mut search = ScaleSearch::from(0.25, "measured".into());
    search.check_found(&colony, &colony, Doubted::Nothing);
    let wide = rods(12, 2 * tutorial);
    let Check::Again { factor, .. } = search.check_found(&wide, &wide, Doubted::Halo) else {
        panic!("{}", search.how());
    };
    let three = rods(3, 2 * tutorial);
    assert!(matches!(
        search.check_found(&three, &three, Doubted::Nothing),
        Check::Agrees { .. }
    ));
    assert_eq!(search.factor(), factor);
    let doubt = search
        .doubt()
        .expect("the halo's doubt, said by the search");
    assert!(doubt.contains("lacked the bright halo"), "{doubt}");

    // a population of specks tried and taken back leaves the estimate unmoved: ×1 is
    // still tried
    let specks = rods(20, 5);
    let mut search = ScaleSearch::from(0.25, "measured".into());
    assert!(matches!(
        search.check_found(&colony, &specks, Doubted::Nothing),
        Check::Again { .. }
    ));
    assert!(matches!(
        search.check_found(&colony, &specks, Doubted::Cells),
        Check::Again { factor: 0.25, .. }
    ));
    assert_eq!(
        search.check_found(&colony, &specks, Doubted::Nothing),
        Check::Again {
            factor: 1.0,
            width: 0.0
        }
    );

    // not tried where the estimate is ×1 already, where it was guessed, or where cells
    // moved the scale (their width spoke)
    let mut at_one = ScaleSearch::from(1.02, "measured".into());
    assert_eq!(
        at_one.check_found(&colony, &colony, Doubted::Nothing),
        Check::TooFew
    );
    // (the octave's try aside: `a_guessed_scale_that_ends_on_few_or_doubtful_cells_tries_an_octave_up`)
    let mut guessed = ScaleSearch {
        guessed: true,
        width_unclear: true,
        tried_octave: true,
        ..ScaleSearch::from(0.25, "no width stands out".into())
    };
    assert_eq!(
        guessed.check_found(&colony, &colony, Doubted::Nothing),
        Check::TooFew
    );
    let mut moved = ScaleSearch::from(0.25, "measured".into());
    let wide = rods(5, 60);
    assert!(matches!(
        moved.check_found(&wide, &wide, Doubted::Nothing),
        Check::Again { .. }
    ));
    assert_eq!(
        moved.check_found(&colony, &colony, Doubted::Nothing),
        Check::TooFew
    );
    assert!(!moved.how().contains("tutorial's magnification"));
}

#[test]
fn a_field_of_noise_starts_at_one_and_an_empty_one_too() {
    let noise: Vec<f32> = (0..64 * 64)
        .map(|i| ((i * 7919) % 101) as f32 / 1000.0)
        .collect();
    let search = ScaleSearch::start(&Plane::new(64, 64, noise)).unwrap();
    assert_eq!(search.factor(), 1.0);
    let flat = ScaleSearch::start(&Plane::new(64, 64, vec![0.5; 64 * 64])).unwrap();
    assert_eq!(flat.factor(), 1.0);
    assert!(
        flat.reason()
            .starts_with("no cells stand out from the noise"),
        "{}",
        flat.reason()
    );
    assert!(
        flat.how().starts_with("scale ×1.000, no cells"),
        "{}",
        flat.how()
    );
}
