//! The automatic scale, one step at a time, so the CLI's `--scale auto`
//! ([`crate::pipeline::segment_auto`]) and the page (which segments between the steps, in a
//! worker, with its own progress bar) choose the same scale the same way.
//!
//! It starts from the image's own estimate ([`crate::scale::width`]). That can be off where cells lie
//! apart (a lone cell's halo makes it look wider than a packed one; the ridge centres' votes,
//! [`crate::scale::ridges`], mend most of that, not blur), so the cells found at
//! that scale are measured across ([`scale::typical_width`]: pieces of a split cell are as
//! wide as the cell, unlike their lengths) and, while that disagrees by more than 5%, the
//! image is segmented again at the scale their width gives — [`CHECKS`] times at most, and no
//! further than an octave from the start (or from ×1, where the image's estimate found too
//! few cells to check it by and the tutorial's magnification, tried, found enough that
//! nothing doubts but the halo's check, which speaks of the image, not its scale:
//! [`ScaleSearch::check_found`]). Where no width stands out in the image
//! ([`NoEstimate::Unclear`]), or nothing stands above the noise, the checks start from ×1;
//! cells finer than the sweep are refused. Where no width stood out, ×1 is also kept for a
//! population of cells up to [`WIDER`] as wide as the tutorial's that the networks are sure
//! of: a wider bacterium at the tutorial's magnification, which the networks segment best as
//! it is (not the pieces a higher magnification breaks cells into). Wherever the search
//! stands (within reach of ×1), such a population is also taken to ×1 where the image's
//! edges are as sharp as the tutorial's ([`crate::scale::edges`]: a magnified image's edges
//! blur with it, a wider bacterium's do not; [`ScaleSearch::sharp_wider`]). Where ×1 found no
//! cell there, the scale the image's strongest features give is tried once; and where the
//! search would end on too few cells or on doubtful ones, an octave up is tried once
//! ([`ScaleSearch::check_found`]).
//!
//! `auto_scale/tries.rs` holds the tutorial's, the strongest features' and the octave's tries
//! (and `begin_try`, which every try uses; [`ScaleSearch::check_found`] judges them and takes
//! them back); `auto_scale/tests.rs` the search's tests, on rods drawn to size.

use crate::core::cells::Cells;
use crate::core::plane::Plane;
use crate::scale;
use crate::scale::edges;
use crate::scale::ridges;
use crate::scale::width::{self, NoEstimate};

mod tries;

/// How many times the scale is checked against the width of the cells found.
pub const CHECKS: usize = 3;

/// How far the checks may take the scale from where they started: an octave. Where the
/// cells found are debris or merged clumps, each check could take it further the wrong way.
pub const REACH: f64 = 2.0;

/// Scales within this share of each other are the same to the checks.
pub const AGREE: f64 = 0.05;

/// Fewer cells found than this say nothing about the scale.
pub const MIN_CELLS: usize = 3;

/// How much wider than the tutorial's the cells found at a guessed ×1 may be and stay there
/// (and, where the image's edges are as sharp as the tutorial's, be taken there).
/// The networks segment cells up to half as wide again about as well (phase_027 enlarged
/// ×1.19 / ×1.41 / ×1.5: held-out F1 0.809 / 0.806 / 0.796 against 0.803 at ×1; ×1.6 0.779),
/// and wider bacteria at the tutorial's magnification are segmented best there: van Vliet
/// et al.'s *E. coli*, 1.35–1.6× as wide, F1 1.000 / 1.000 / 0.909 / 1.000 at ×1 on four
/// pages against 0.800 / 0.667 / 0.903 / 0.833 at the ×0.54–×0.70 their width gave.
pub const WIDER: f64 = 1.5;

/// How many measured cells speak for a population: the median of 10 widths that vary ±15%
/// is within about ±6%, the checks' own agreement. Fewer (a sparse field's few rods, with
/// specks of debris passing for cells) do not keep a guessed ×1 for being wide.
pub const POPULATION: usize = 10;

/// What the image's checks doubt about the cells a segmentation found
/// ([`crate::pipeline::doubts`]), as far as the scale search is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doubted {
    /// Nothing.
    Nothing,
    /// Only the kind of image: most of the cells lack phase contrast's bright halo
    /// ([`crate::post::halo`]). That is the image's, not the scale's; blurred fields with
    /// faint halos have it at every scale, their cells plain to see (swarming *B. subtilis*
    /// from another lab: 14–32% haloed at ×1, where the cells score F1 0.93).
    Halo,
    /// The cells themselves: they do not stand out from the background's own texture, the
    /// networks are unsure of them, or they are the image's mottling.
    Cells,
    /// Too few cells for those checks to speak, and not every one of them is a plainly dark
    /// body ([`crate::post::halo::plain`]). Only a scale tried where ×1 found no cell hears
    /// it ([`ScaleSearch::try_unclear`]).
    Unplain,
    /// Nothing said of the cells themselves (or only that they leave no background to check
    /// them by, [`crate::post::packed`]), but the networks are sure of fewer of their cores
    /// than of most real cells ([`crate::post::sure::BAR`]; the U-Net's own bar, at which a
    /// result is doubted, is lower). The check that keeps a guessed ×1 for wider cells hears
    /// it ([`ScaleSearch::keeps_wider`]: wider cells the networks segment well there, they
    /// are sure of), and the octave's try ([`ScaleSearch::try_octave`]); the other tries do
    /// not. The halo's doubt, where it is said, is what the search hears instead.
    Unsure,
}

/// Where a search stands.
#[derive(Clone, Debug)]
pub struct ScaleSearch {
    first: f64,
    factor: f64,
    rounds: usize,
    settled: bool,
    /// Why it started where it did.
    reason: String,
    /// What the checks found, one `; …` clause each.
    checks: String,
    /// How many cells agreed with the scale, where they did without the octave limit.
    confirmed_by: Option<usize>,
    /// Why the answer is doubtful: a limit held the scale from where the cells wanted, the
    /// scale the cells wanted could not be confirmed, or the checks did not settle.
    doubt: Option<String>,
    /// The scale the last move came from, once a check has moved it.
    moved_from: Option<f64>,
    /// Whether the start is a default (×1) rather than a measure of the image.
    guessed: bool,
    /// Whether that default is for want of a clear width (cells of many sizes answering
    /// alike) rather than for a field of noise: only then may wider cells keep it.
    width_unclear: bool,
    /// Whether a scale has been tried for the width of cells the networks found and the image
    /// did not bear out ([`ScaleSearch::check_found`]; once at most)...
    tried_found: bool,
    /// ...or the tutorial's, where the image's estimate gave too few cells (once at most)...
    tried_tutorial: bool,
    /// ...or, where no width stood out and the guessed ×1 found no cell, the scale the
    /// image's strongest features would give ([`ScaleSearch::try_unclear`]; once at most)...
    tried_unclear: bool,
    /// ...or, where the guessed ×1 found too few cells or doubtful ones, an octave up
    /// ([`ScaleSearch::try_octave`]; once at most)...
    tried_octave: bool,
    /// ...and, while one is being tried, where the search stood before.
    trying: Option<Tried>,
    /// Whether the tutorial's scale, tried, stood: the checks then reach an octave beyond
    /// both it and the start.
    tutorial_stood: bool,
    /// Whether it stood although most of its cells lacked the halo ([`Doubted::Halo`]).
    stood_without_halos: bool,
    /// Where no width stood out clearly ([`NoEstimate::Unclear`]), the scale at which the
    /// features that answered best would be as wide as the tutorial's cells.
    unclear_factor: Option<f64>,
    /// What the image's checks doubted about the cells last checked
    /// ([`ScaleSearch::check_found`]).
    doubted: Doubted,
    /// How sharp the image's edges are around those cells ([`edges::rise`]), where the caller
    /// said ([`ScaleSearch::check_found_with_edges`]).
    edges: Option<f64>,
    /// Whether the edges took the search to ×1 ([`ScaleSearch::sharp_wider`])...
    sharp_moved: bool,
    /// ...and whether it has left ×1 since: the cells found there did not bear it out, and
    /// the edges are not asked again.
    sharp_spent: bool,
}

/// Where a search stood before a scale was tried ([`ScaleSearch::check_found`]), and which.
#[derive(Clone, Copy, Debug)]
struct Tried {
    factor: f64,
    rounds: usize,
    moved_from: Option<f64>,
    kind: Try,
}

/// Which scale is tried ([`ScaleSearch::check_found`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Try {
    /// The width of a population the networks found and the image did not bear out.
    Found,
    /// The tutorial's, where the image's estimate found too few cells.
    Tutorial,
    /// The image's strongest features', where no width stood out and ×1 found no cell.
    Unclear,
    /// An octave up, where no width stood out and ×1 found too few cells or doubtful ones.
    Octave,
}

/// What one check of the cells found concluded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Check {
    /// Segment again at this factor: the cells found are `width` px wide (0 where none or
    /// too few were found at the image's estimate and the tutorial's scale is tried, where
    /// none were found at a guessed ×1 and the image's strongest features' scale is tried, or
    /// where a scale tried is taken back: [`ScaleSearch::check_found`]).
    Again { factor: f64, width: f64 },
    /// The cells found are `width` px wide, as the scale expects (or, at a ×1 the image could
    /// not measure or whose edges are as sharp as the tutorial's, within [`WIDER`] of the
    /// tutorial's): keep it.
    Agrees { width: f64 },
    /// Too few cells to measure: keep the scale.
    TooFew,
    /// [`CHECKS`] rounds and no agreement: keep the last scale.
    NotSettled,
}

impl ScaleSearch {
    /// Starts at the image's own estimate, or at ×1 where it has none to give; refuses cells
    /// too fine for the estimate's sweep (no scale offered would fit them).
    pub fn start(plane: &Plane) -> Result<ScaleSearch, String> {
        let estimate = width::estimate(plane);
        let guessed = estimate.is_err();
        let width_unclear = matches!(estimate, Err(NoEstimate::Unclear { .. }));
        let unclear_factor = match estimate {
            Err(NoEstimate::Unclear { sigma, .. }) if sigma > 0.0 => {
                Some(width::TUTORIAL_SIGMA / sigma)
            }
            _ => None,
        };
        let (first, reason) = match estimate {
            Ok(e) if e.by_ridges => (
                e.factor,
                format!(
                    "measured from the image (cells answer best at σ {:.2} px at their \
                     centres, the tutorial's at σ {:.2} px; the image as a whole, its open \
                     background widening them, at σ {:.2} px)",
                    e.sigma,
                    ridges::TUTORIAL_SIGMA,
                    e.whole_sigma
                ),
            ),
            Ok(e) => (
                e.factor,
                format!(
                    "measured from the image (cells answer best at σ {:.2} px; the tutorial's \
                     at σ {:.2} px)",
                    e.sigma,
                    width::TUTORIAL_SIGMA
                ),
            ),
            Err(why @ NoEstimate::NoiseOnly) => (1.0, why.to_string()),
            // ×1 and then the width of the cells found, which holds even where cells split
            Err(why @ NoEstimate::Unclear { .. }) => {
                (1.0, format!("{why}; ×1 to start, then the cells found say"))
            }
            Err(why) => return Err(format!("no automatic scale: {why}")),
        };
        Ok(ScaleSearch {
            guessed,
            width_unclear,
            unclear_factor,
            ..ScaleSearch::from(first, reason)
        })
    }

    /// A search starting at `first`, for `reason`.
    pub fn from(first: f64, reason: String) -> ScaleSearch {
        ScaleSearch {
            first,
            factor: first,
            rounds: 0,
            settled: false,
            reason,
            checks: String::new(),
            confirmed_by: None,
            doubt: None,
            moved_from: None,
            guessed: false,
            width_unclear: false,
            tried_found: false,
            tried_tutorial: false,
            tried_unclear: false,
            tried_octave: false,
            trying: None,
            tutorial_stood: false,
            stood_without_halos: false,
            unclear_factor: None,
            doubted: Doubted::Nothing,
            edges: None,
            sharp_moved: false,
            sharp_spent: false,
        }
    }

    /// The scale to segment at now.
    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// Whether the search is over: the last segmentation's scale is the answer.
    pub fn settled(&self) -> bool {
        self.settled
    }

    /// How many cells confirmed the scale: found at it, large enough to be measured, and as
    /// wide as it expects (or kept at ×1 for being up to [`WIDER`] as wide), with no limit
    /// holding the scale there; `None` where none did (too few cells, no agreement, or
    /// agreement only at the octave's edge).
    pub fn confirmed_by(&self) -> Option<usize> {
        self.confirmed_by
    }

    /// Why the scale the search settled at is doubtful, where it is: the cells found wanted
    /// a scale beyond what the checks may reach, and no later check agreed within it, so
    /// they may not be cells as the networks know them (fluorescence, a field of debris, a
    /// whole colony taken for one cell); or too few cells were found to check the scale by
    /// (after the checks moved it, from a default, or from the image's estimate), so nothing
    /// confirmed it, or none at all where the image's estimate set it; or [`CHECKS`] checks
    /// each moved the scale and the cells still asked for one over twice [`AGREE`] away. None
    /// while the search goes on. Said with the result (it ends [`ScaleSearch::how`]), never
    /// kept quiet.
    pub fn doubt(&self) -> Option<&str> {
        self.doubt.as_deref().filter(|_| self.settled)
    }

    /// Why the search started where it did, in words.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// How the scale came about, in words (for a CLI's message or a page's status): where it
    /// started, why, and what each check found.
    pub fn how(&self) -> String {
        format!("scale ×{:.3}, {}{}", self.first, self.reason, self.checks)
    }

    /// [`ScaleSearch::check`] of `kept`, the cells the image bore out of `found`, those the
    /// networks found (before the contrast check, [`crate::pipeline::borne_out`]); `doubted`,
    /// what the image's checks doubt about the cells kept ([`Doubted`]).
    ///
    /// Packed cells found at too small a scale are thin cores; the rest of each cell, taken
    /// for background, makes the background's texture so strong that no core stands out
    /// from it, and too few are kept to check the scale by (packed long rods 7.6 px wide,
    /// found at the ×1.29 their image's features give where ×1.67 is right: 1,037 cores, 1
    /// kept). So where too few were kept but the networks found a population, the scale is
    /// tried, once, where their width says. A sparse field's debris and a mottled field's
    /// texture are found as such populations too, and dropped as rightly; at the scale
    /// their width gives, a mottled field's texture can pass for thousands of cells, which
    /// the image's other checks doubt. So the move stands only where a population
    /// ([`POPULATION`]) is kept at the new scale and nothing doubts them, to be checked
    /// there as ever; otherwise it is taken back (segmented again where it was, as if never
    /// tried). Where the networks found no population (or its try was taken back, or their
    /// width asks for no move), and the image's estimate too few cells to check it by, the
    /// tutorial's scale is tried alike, standing for fewer cells (`try_tutorial`, in `auto_scale/tries.rs`);
    /// where no width stood out in the image and the guessed ×1 found no cell, the scale of
    /// the image's strongest features, standing for one plain cell (`try_unclear`, there too);
    /// and where no width stood out and the search would end on too few cells or doubtful
    /// ones, an octave up, standing for cells nothing doubts (`try_octave`, there too).
    pub fn check_found(&mut self, kept: &Cells, found: &Cells, doubted: Doubted) -> Check {
        self.check_found_with_edges(kept, found, doubted, None)
    }

    /// [`ScaleSearch::check_found`], told how sharp the image's edges are around the cells
    /// kept (`edges`: [`edges::rise`]): where they are the tutorial's optics, cells up to
    /// [`WIDER`] as wide are a wider bacterium, segmented at ×1 ([`ScaleSearch::sharp_wider`]).
    pub fn check_found_with_edges(
        &mut self,
        kept: &Cells,
        found: &Cells,
        doubted: Doubted,
        edges: Option<f64>,
    ) -> Check {
        self.doubted = doubted;
        self.edges = edges;
        if let Some(tried) = self.trying.take() {
            // the tutorial's scale stands for a handful of cells (a sparse field's), as many
            // as the doubts need to speak (fewer, nothing could doubt them); the width of
            // thin cores only for a population
            let enough = match tried.kind {
                Try::Found => POPULATION,
                Try::Tutorial => crate::post::halo::MIN_CELLS,
                // (a small crop may hold one cell; the result says the scale is a guess)
                Try::Unclear => 1,
                // (as many as the doubts need to speak, and none of them said)
                Try::Octave => crate::post::halo::MIN_CELLS,
            };
            // (the image's kind, the halo's doubt, does not speak against the tutorial's scale
            // or the strongest features', tried where the image's own estimate or a guessed ×1
            // found next to nothing: the doubt is said with the cells)
            let doubtful = match doubted {
                Doubted::Nothing => false,
                Doubted::Unsure => tried.kind == Try::Octave,
                Doubted::Halo => matches!(tried.kind, Try::Found | Try::Octave),
                Doubted::Cells => true,
                Doubted::Unplain => tried.kind == Try::Unclear,
            };
            let why = if doubtful {
                Some("are doubtful".to_string())
            } else {
                (kept.count() < enough).then(|| format!("only {} stand out", kept.count()))
            };
            if let Some(why) = why {
                self.checks.push_str(&format!(
                    "; the cells found there {why}, which does not confirm it: back to scale \
                     ×{:.3}",
                    tried.factor
                ));
                self.factor = tried.factor;
                self.rounds = tried.rounds;
                self.moved_from = tried.moved_from;
                return Check::Again {
                    factor: tried.factor,
                    width: 0.0,
                };
            }
            let tutorial = tried.kind == Try::Tutorial;
            self.tutorial_stood |= tutorial;
            self.stood_without_halos |= tutorial && doubted == Doubted::Halo;
            return self.check_kept(kept);
        }
        // (where the image said nothing stands out from its noise, what the networks found
        // in it is that noise)
        let noise_only = self.guessed && !self.width_unclear;
        let spent = self.rounds >= CHECKS;
        if kept.count() >= MIN_CELLS
            && let Some(check) = self.try_octave(kept)
        {
            return check;
        }
        if self.settled || noise_only || spent || kept.count() >= MIN_CELLS {
            return self.check_kept(kept);
        }
        // (a population tried and taken back leaves the estimate unmoved: ×1 may still be)
        if self.tried_found {
            return self.try_another(kept);
        }
        let population = scale::typical_width_measured(found).filter(|&(_, m)| m >= POPULATION);
        let Some((width, measured)) = population else {
            return self.try_another(kept);
        };
        let at = self.factor;
        let (low, high) = self.reach();
        let next = (scale::TUTORIAL_CELL_WIDTH / width).clamp(low, high);
        if (next / at - 1.0).abs() <= AGREE {
            return self.try_another(kept);
        }
        self.checks.push_str(&format!(
            "; {} cells found there, {} of them standing out from the background (too few to \
             check by): the {measured} measured are {width:.1} px wide, scale ×{next:.3} to try",
            found.count(),
            kept.count()
        ));
        self.tried_found = true;
        self.begin_try(next, Try::Found);
        // (the cells' width moved it: a doubt at the new scale says where from)
        self.moved_from = Some(at);
        Check::Again {
            factor: next,
            width,
        }
    }

    /// Checks the scale against `cells`, found by segmenting at [`ScaleSearch::factor`], and
    /// moves it where they say. After anything but [`Check::Again`] the search is settled.
    /// ([`ScaleSearch::check_found`] checks the cells with what the image's checks doubted
    /// of them; called alone, nothing is doubted.)
    pub fn check(&mut self, cells: &Cells) -> Check {
        self.doubted = Doubted::Nothing;
        self.edges = None;
        self.check_kept(cells)
    }

    /// [`ScaleSearch::check`] of cells whose doubts [`ScaleSearch::check_found`] noted.
    fn check_kept(&mut self, cells: &Cells) -> Check {
        if self.settled {
            return Check::NotSettled;
        }
        let at = self.factor;
        // no cell at all where the image's features set the scale: they are not the cells'
        // width (a pattern of rods, gaps and halos answering coarser), or nothing here is a
        // cell; the tutorial's own scale (within the octave) decides before anything is said
        let (low, high) = self.reach();
        let one = 1f64.clamp(low, high);
        if cells.count() == 0 && !self.guessed && self.rounds == 0 && (one / at - 1.0).abs() > AGREE
        {
            self.checks
                .push_str(&format!("; no cell found there: ×{one:.3} to try"));
            self.factor = one;
            self.rounds += 1;
            return Check::Again {
                factor: one,
                width: 0.0,
            };
        }
        let verdict = self.judge(cells);
        let outcome = verdict.check;
        if let Check::Agrees { .. } = outcome {
            self.confirmed_by = verdict.held_from.is_none().then_some(verdict.measured);
        }
        // a check the limits held: doubtful unless a later one agrees within them
        match (verdict.held_from, outcome) {
            (Some(wanted), Check::Again { width, .. } | Check::Agrees { width }) => {
                let (low, high) = self.reach();
                self.doubt = Some(format!(
                    "the cells found at ×{at:.3} are {width:.1} px wide and would want \
                     ×{wanted:.3}, beyond what the checks may reach (×{low:.3}–×{high:.3}): \
                     the scale is doubtful, and so are the cells, which may not be cells as \
                     the networks know them (phase-contrast rods, dark with bright halos); \
                     check the result, or set the scale by hand"
                ));
            }
            (None, Check::Agrees { .. }) => self.doubt = None,
            // too few cells to check the scale by: moved by cells that were there and not
            // confirmed at the new scale (a clump the first cells were pieces of, say), a
            // default nothing measured, or the image's estimate unchecked; none of these is
            // an answer to pass off as settled. No cell at all where nothing set the scale (a
            // field of noise) has nothing to doubt; no cell where the image's features did
            // may be cells the networks do not know (a network taught debris takes dark
            // blobs without a halo, and bright ones, for debris), and is said to be so.
            (_, Check::TooFew) if self.doubt.is_none() => {
                let n = cells.count();
                // (the tutorial's scale, where it was tried and taken back, found no better)
                let nor_at_one = if self.tried_tutorial {
                    ", nor enough cells at ×1, the tutorial's magnification, tried"
                } else {
                    ""
                };
                self.doubt = match (self.moved_from, self.guessed) {
                    (Some(from), _) => Some(format!(
                        "the scale ×{at:.3} came from the width of the cells found at \
                         ×{from:.3}, but too few cells were found at it to confirm it: the \
                         scale is doubtful, and so are the cells (merged or split); check the \
                         result, or set the scale by hand"
                    )),
                    (None, true) if n == 0 => None,
                    (None, false) if n == 0 => Some(format!(
                        "no cell was found at ×{:.3}, where the image's features of a \
                         cell's size set the scale{}: they may be debris on an empty field, or \
                         cells unlike the phase-contrast cells the networks know (dark, with \
                         bright halos), which may not be cells to them (inverted, bright-field \
                         or fluorescence: pick the phase-contrast channel of a multi-channel \
                         file); check the image, or set the scale by hand",
                        self.first,
                        // unmoved by cells, the scale moved only for the tutorial's to be tried
                        if at != self.first {
                            format!(", nor at ×{at:.3}{nor_at_one}")
                        } else {
                            String::new()
                        }
                    )),
                    (None, true) => Some(format!(
                        "neither the image nor the {n} cell(s) found at ×{at:.3} could measure \
                         the scale (too few): it is a guess, and so are the cells (merged or \
                         split); check the result, or set the scale by hand"
                    )),
                    (None, false) => Some(format!(
                        "only {n} cell(s) found at ×{at:.3}, too few to check the scale the \
                         image gave{nor_at_one}: it may be off, and the cells with it (merged \
                         or split); check the result, or set the scale by hand"
                    )),
                };
            }
            // every segmentation's cells asked for another scale, and the last still asks
            // for one well away: what they are changes with the scale (debris, clumps, cells
            // unlike the tutorial's), so the last scale is no answer. A swing that has
            // nearly settled (within twice the agreement) is left as it is.
            (_, Check::NotSettled)
                if self.doubt.is_none() && (verdict.next / at - 1.0).abs() > 2.0 * AGREE =>
            {
                self.doubt = Some(format!(
                    "after {CHECKS} checks the cells found at ×{at:.3} still want ×{:.3}: they \
                     change with the scale (debris, clumps or cells unlike the tutorial's), so \
                     the scale is doubtful, and so are the cells; check the result, or set the \
                     scale by hand",
                    verdict.next
                ))
            }
            _ => {}
        }
        match outcome {
            Check::Again { factor, width } if verdict.sharp_wider => {
                self.checks.push_str(&format!(
                    "; the cells found there are {width:.1} px wide, wider than the tutorial's \
                     but within what the networks segment well at ×1 ({:.1}–{:.1} px), and the \
                     image's edges are as sharp as the tutorial's (a wider bacterium, not a \
                     higher magnification): scale ×{factor:.3}",
                    (1.0 + AGREE) * scale::TUTORIAL_CELL_WIDTH,
                    WIDER * scale::TUTORIAL_CELL_WIDTH
                ));
                self.moved_from = Some(at);
                self.factor = factor;
                self.rounds += 1;
                self.sharp_moved = true;
            }
            Check::Again { factor, width } => {
                self.checks.push_str(&format!(
                    "; the cells found there are {width:.1} px wide (the tutorial's {:.1}): \
                     scale ×{factor:.3}",
                    scale::TUTORIAL_CELL_WIDTH
                ));
                // (away from the ×1 the edges took it to: they are not asked again)
                self.sharp_spent |= self.sharp_moved;
                self.moved_from = Some(at);
                self.factor = factor;
                self.rounds += 1;
            }
            Check::Agrees { width } if verdict.sharp_wider => self.checks.push_str(&format!(
                "; the cells found are {width:.1} px wide, wider than the tutorial's but \
                     within what the networks segment well at ×1 ({:.1}–{:.1} px), the image's \
                     edges as sharp as the tutorial's: kept",
                (1.0 + AGREE) * scale::TUTORIAL_CELL_WIDTH,
                WIDER * scale::TUTORIAL_CELL_WIDTH
            )),
            Check::Agrees { width } if verdict.wider_kept => self.checks.push_str(&format!(
                "; the cells found are {width:.1} px wide, within what the networks \
                     segment well at ×1 ({:.1}–{:.1} px): kept",
                (1.0 - AGREE) * scale::TUTORIAL_CELL_WIDTH,
                WIDER * scale::TUTORIAL_CELL_WIDTH
            )),
            Check::Agrees { width } if verdict.held_from.is_none() => self.checks.push_str(
                &format!("; the cells found are {width:.1} px wide, as expected"),
            ),
            Check::Agrees { .. } => {}
            Check::TooFew => self.checks.push_str(&format!(
                "; fewer than {MIN_CELLS} cells found there to check it by"
            )),
            // where that raised a doubt, the doubt (appended below) says so
            Check::NotSettled if self.doubt.is_some() => {}
            Check::NotSettled => self.checks.push_str(&format!(
                "; not settled after {CHECKS} checks, but within {:.0}% of the scale the cells \
                 found want: kept",
                200.0 * AGREE
            )),
        }
        self.settled = !matches!(outcome, Check::Again { .. });
        // ×1 stood for cells most of which lacked the halo, which was said with them; where
        // the search ends on too few cells for the halo's check to speak, it says so itself
        let unheard = cells.count() < crate::post::halo::MIN_CELLS;
        if self.settled && self.doubt.is_none() && self.stood_without_halos && unheard {
            self.doubt = Some(format!(
                "most of the cells found at ×1, the tutorial's magnification tried, lacked the \
                 bright halo phase contrast gives cells, and at ×{at:.3} too few are found for \
                 that check to speak: the image may not be phase contrast as the networks know \
                 it; check the result, or set the scale by hand"
            ));
        }
        if let (true, Some(doubt)) = (self.settled, &self.doubt) {
            self.checks.push_str(&format!("; {doubt}"));
        }
        outcome
    }

    /// The scales the checks may reach: an octave either way from the start (and from ×1,
    /// where the tutorial's scale was tried and stood, so that neither is out of reach),
    /// within the factors offered.
    fn reach(&self) -> (f64, f64) {
        let (low, high) = if self.tutorial_stood {
            (self.first.min(1.0), self.first.max(1.0))
        } else {
            (self.first, self.first)
        };
        (
            (low / REACH).max(scale::MIN_FACTOR),
            (high * REACH).min(scale::MAX_FACTOR),
        )
    }

    /// Whether `measured` cells `width` px wide, which would move the scale, keep a ×1 the
    /// image could not measure. There, ×1 (the tutorial's magnification) stands at the first
    /// check where a population of measured cells ([`POPULATION`]) is from the tutorial's
    /// width (less [`AGREE`]) to [`WIDER`] as wide: a wider bacterium is not a higher
    /// magnification, and shrunk to the tutorial's width its rims swell and its neighbours
    /// merge. A measured start (unless the image's edges are as sharp as the tutorial's:
    /// [`ScaleSearch::sharp_wider`]), a field of noise, a few cells, and every check after a
    /// move still aim at the tutorial's width; and so do cells the image's checks doubt (their
    /// texture, sureness or mottling: [`Doubted::Cells`]) or the networks are less sure of
    /// than of most real cells ([`Doubted::Unsure`]): a wider bacterium's cells are
    /// segmented well at ×1 and the networks are sure of them (of 13 fields of four labs
    /// kept so, 0.52–0.69 of their cores' pixels), but a field enlarged beyond it breaks into
    /// pieces that measure inside the window (the four species' fields enlarged ×1.6: 15–16
    /// px pieces of 21–23 px cells, sure of 0.25–0.36, F1 0.04–0.41 where their scale gives
    /// 0.70–0.94). Where only the halo's doubt is said (the image's kind), that is what the
    /// search hears, and ×1 is kept (one of those fields, F1 0.15).
    fn keeps_wider(&self, width: f64, measured: usize) -> bool {
        // the width as the networks saw it (×1 here, so in the image's pixels too)
        let relative = width * self.factor / scale::TUTORIAL_CELL_WIDTH;
        self.width_unclear
            && self.rounds == 0
            && measured >= POPULATION
            && (1.0 - AGREE..=WIDER).contains(&relative)
            && !matches!(self.doubted, Doubted::Cells | Doubted::Unsure)
    }

    /// What `cells` say ([`Verdict`]).
    fn judge(&self, cells: &Cells) -> Verdict {
        // the check itself goes on with a rod among specks (its width is still a width, and
        // a scale that shrinks the specks below the smallest cell is the better for it); only
        // confirming a scale for others to keep needs cells that were measured
        let Some((width, measured)) =
            scale::typical_width_measured(cells).filter(|_| cells.count() >= MIN_CELLS)
        else {
            return Verdict {
                check: Check::TooFew,
                held_from: None,
                measured: 0,
                next: self.factor,
                wider_kept: false,
                sharp_wider: false,
            };
        };
        let sharp_wider = self.sharp_wider(width, measured);
        let wanted = if sharp_wider {
            1.0
        } else {
            scale::TUTORIAL_CELL_WIDTH / width
        };
        let (low, high) = self.reach();
        let next = wanted.clamp(low, high);
        let agrees = (next / self.factor - 1.0).abs() <= AGREE;
        let wider_kept = !agrees && self.keeps_wider(width, measured);
        let check = if agrees || wider_kept {
            Check::Agrees { width }
        } else if self.rounds >= CHECKS {
            Check::NotSettled
        } else {
            Check::Again {
                factor: next,
                width,
            }
        };
        // held by a limit: the scale the cells want lies beyond it, not within the agreement
        let limited = !wider_kept && (wanted / next - 1.0).abs() > AGREE;
        Verdict {
            check,
            held_from: limited.then_some(wanted),
            measured,
            next,
            wider_kept,
            sharp_wider,
        }
    }

    /// Whether `measured` cells `width` px wide (in the image's pixels), which would move the
    /// scale below ×1, are a wider bacterium at the tutorial's magnification: a population
    /// ([`POPULATION`]) wider than the tutorial's (beyond [`AGREE`]) up to [`WIDER`] as wide,
    /// that the image's checks do not doubt (the halo's doubt, of the image's kind, aside) and
    /// the networks are sure of, in an image whose edges are as sharp as the tutorial's
    /// ([`edges::as_sharp_as_the_tutorials`]), where ×1 is within the checks' reach and the
    /// start is not a field of noise. Then ×1 is the scale, wherever the search stands (once:
    /// where the cells found at ×1 move it away, the edges are not asked again): shrunk to
    /// the tutorial's width, the edges would be sharper than the networks learned, and the
    /// rims they draw swell in the image's pixels. The same image magnified blurs its edges
    /// with it (phase_027 enlarged ×1.4 rises 1.34 times as far) and is shrunk as before; so
    /// are cells the edges cannot vouch for, which [`ScaleSearch::keeps_wider`] alone may
    /// keep at a ×1 the image could not measure. Once
    /// the edges have taken the search to ×1, the cells found there need not measure them
    /// again: the outlines found at ×1 follow the edges closer than those of a shrunk image,
    /// and read them sharper (swarming fields: 2.8–2.9 px at ×1 where 3.1–3.2 at ×0.7).
    fn sharp_wider(&self, width: f64, measured: usize) -> bool {
        let at_one = (self.factor - 1.0).abs() <= AGREE;
        let (low, high) = self.reach();
        let noise_only = self.guessed && !self.width_unclear;
        !self.sharp_spent
            && !noise_only
            && (low..=high).contains(&1.0)
            && ((self.sharp_moved && at_one)
                || self.edges.is_some_and(edges::as_sharp_as_the_tutorials))
            && measured >= POPULATION
            && (1.0 + AGREE..=WIDER).contains(&(width / scale::TUTORIAL_CELL_WIDTH))
            && !matches!(self.doubted, Doubted::Cells | Doubted::Unsure)
    }
}

/// What one check of the cells found says, and why.
struct Verdict {
    check: Check,
    /// The scale the cells wanted, where a limit (the octave, the factors offered) held the
    /// scale away from it.
    held_from: Option<f64>,
    /// How many cells were measured: those large enough to count (specks of debris beside
    /// one rod do not confirm a scale).
    measured: usize,
    /// The scale the cells ask for, within the limits.
    next: f64,
    /// Whether a guessed ×1 was kept for wider cells ([`ScaleSearch::keeps_wider`]).
    wider_kept: bool,
    /// Whether the cells are a wider bacterium whose edges put it at ×1
    /// ([`ScaleSearch::sharp_wider`]).
    sharp_wider: bool,
}

#[cfg(test)]
mod tests;
