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
//! it is (not the pieces a higher magnification breaks cells into); where ×1 found no
//! cell there, the scale the image's strongest features give is tried once; and where the
//! search would end on too few cells or on doubtful ones, an octave up is tried once
//! ([`ScaleSearch::check_found`]).

use crate::core::cells::Cells;
use crate::core::plane::Plane;
use crate::scale;
use crate::scale::ridges;
use crate::scale::width::{self, NoEstimate};

/// How many times the scale is checked against the width of the cells found.
pub const CHECKS: usize = 3;

/// How far the checks may take the scale from where they started: an octave. Where the
/// cells found are debris or merged clumps, each check could take it further the wrong way.
pub const REACH: f64 = 2.0;

/// Scales within this share of each other are the same to the checks.
pub const AGREE: f64 = 0.05;

/// Fewer cells found than this say nothing about the scale.
pub const MIN_CELLS: usize = 3;

/// How much wider than the tutorial's the cells found at a guessed ×1 may be and stay there.
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
    /// not measure, within [`WIDER`] of the tutorial's): keep it.
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
    /// tutorial's scale is tried alike, standing for fewer cells (`try_tutorial`, below);
    /// where no width stood out in the image and the guessed ×1 found no cell, the scale of
    /// the image's strongest features, standing for one plain cell (`try_unclear`, below);
    /// and where no width stood out and the search would end on too few cells or doubtful
    /// ones, an octave up, standing for cells nothing doubts (`try_octave`, below).
    pub fn check_found(&mut self, kept: &Cells, found: &Cells, doubted: Doubted) -> Check {
        self.doubted = doubted;
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

    /// Moves to `factor` for a try ([`ScaleSearch::check_found`]), remembering where the
    /// search stood so that it can be taken back.
    fn begin_try(&mut self, factor: f64, kind: Try) {
        self.trying = Some(Tried {
            factor: self.factor,
            rounds: self.rounds,
            moved_from: self.moved_from,
            kind,
        });
        self.factor = factor;
        self.rounds += 1;
    }

    /// Where the image's estimate (no cell having moved it) gave too few cells to check it by
    /// (one or two; or none at the scale within its octave that no cell at the estimate
    /// itself moved it to), the tutorial's scale, tried once; called where the checks are
    /// not spent. An image's features of a cell's size can be the field's rather than its
    /// cells': a sparse field's small colony, one halo round them all on a mottled
    /// background, answers at a width 3–5 times the cells', and found at ×0.21–×0.34 each
    /// colony was one "cell" (three fields of rods 10–16 px wide from another lab, which the
    /// networks segment at ×1). The octave's reach, which keeps
    /// the checks from following debris or clumps away, kept them there; ×1 is the
    /// magnification the networks learned, where phase-contrast bacteria are most often
    /// imaged. It stands where as many cells are kept there as the doubts need to speak
    /// ([`crate::post::halo::MIN_CELLS`]) and none doubts them (but for the halo's doubt, the
    /// image's kind, which no scale mends: it is said with them), and the checks then reach an
    /// octave beyond both it and the start; otherwise the image's scale is taken back. None
    /// where it does not apply (the search goes on as it would).
    fn try_tutorial(&mut self, kept: &Cells) -> Option<Check> {
        // (no cell at the estimate itself: the tutorial's scale within the octave is tried
        // first, as [`ScaleSearch::check`] does)
        let none_at_start = kept.count() == 0 && self.rounds == 0;
        if self.guessed
            || self.tried_tutorial
            || self.moved_from.is_some()
            || kept.count() >= MIN_CELLS
            || none_at_start
            || (1.0 / self.factor - 1.0).abs() <= AGREE
        {
            return None;
        }
        let found = match kept.count() {
            0 => "no cell found there either".to_string(),
            n => format!("only {n} cell(s) found there, too few to check it by"),
        };
        self.checks.push_str(&format!(
            "; {found}: ×1, the tutorial's magnification, to try"
        ));
        self.tried_tutorial = true;
        self.begin_try(1.0, Try::Tutorial);
        Some(Check::Again {
            factor: 1.0,
            width: 0.0,
        })
    }

    /// The tutorial's scale, the image's strongest features' or an octave up
    /// ([`ScaleSearch::try_tutorial`], [`ScaleSearch::try_unclear`],
    /// [`ScaleSearch::try_octave`]) where one applies; otherwise the check as ever.
    fn try_another(&mut self, kept: &Cells) -> Check {
        self.try_tutorial(kept)
            .or_else(|| self.try_unclear(kept))
            .or_else(|| self.try_octave(kept))
            .unwrap_or_else(|| self.check_kept(kept))
    }

    /// Where no cell width stood out in the image ([`NoEstimate::Unclear`]) and the guessed ×1
    /// found no cell at all, the scale at which the features that answered best would be as
    /// wide as the tutorial's cells, tried once (within the octave the checks reach). A crop
    /// too small to sweep an octave beyond its cells cannot make any width stand out: a
    /// round cell 22 px across alone in 85 × 85 px (HoldenLab's micromorph test data) gave
    /// no cell at ×1, and its features answered best at σ 7 px, ×0.51, where the networks
    /// find it (F1 1.0). It stands where a cell is kept there and nothing doubts it (the
    /// result still says that the scale is a guess); otherwise the try is taken back, to ×1
    /// and its empty answer, as where fewer cells than the image's checks need are kept and
    /// not every one is a plainly dark body ([`Doubted::Unplain`]: crops of empty mottled
    /// fields found one or two "cells" so). After a population's width was tried there and
    /// taken back, it may still be tried. None where it does not apply.
    fn try_unclear(&mut self, kept: &Cells) -> Option<Check> {
        let (low, high) = self.reach();
        let factor = self.unclear_factor?.clamp(low, high);
        if !self.guessed
            || !self.width_unclear
            || self.tried_unclear
            || self.rounds > 0
            || kept.count() > 0
            || (factor / self.factor - 1.0).abs() <= AGREE
        {
            return None;
        }
        self.checks.push_str(&format!(
            "; no cell found there: ×{factor:.3}, where the features that answered best \
             would be as wide as the tutorial's cells, to try"
        ));
        self.tried_unclear = true;
        self.begin_try(factor, Try::Unclear);
        Some(Check::Again { factor, width: 0.0 })
    }

    /// Where no width stood out ([`NoEstimate::Unclear`]) and the search would end on too
    /// few cells to check it by (but some; after the other tries, [`ScaleSearch::try_another`])
    /// or on cells that agree with the scale but that the networks are unsure of or the
    /// image's checks doubt, twice the scale, an octave up (within the octave the checks
    /// reach), tried once. Cells too small for the networks at ×1 come out as a few
    /// clumps or none: Omnipose's colony of 191 cells halved (4–6 px wide) gave 9 clumps at
    /// ×1, doubted (sure of 19% of their cores), and 189 cells at ×2 (F1 0.927, sure of
    /// 57%); a field of four species' rods halved gave 2 "cells" at ×1 and 54 at ×2 (F1
    /// 0.760). Cells too large come out as pieces, whose width the checks follow down. It
    /// stands where as many cells are kept there as the doubts need to speak
    /// ([`crate::post::halo::MIN_CELLS`]) and nothing is said of them, nor are the networks
    /// unsure of them ([`Doubted::Unsure`]); otherwise it is taken back. None where it does
    /// not apply.
    fn try_octave(&mut self, kept: &Cells) -> Option<Check> {
        let (_, high) = self.reach();
        let factor = (2.0 * self.factor).min(high);
        let doubted = matches!(self.doubted, Doubted::Cells | Doubted::Unsure);
        // where the search would end: too few cells, or cells that agree with the scale (those
        // that ask for another, smaller or larger, are followed first)
        let ends = match self.judge(kept).check {
            Check::TooFew => kept.count() > 0,
            Check::Agrees { .. } => doubted,
            _ => false,
        };
        if !self.guessed
            || !self.width_unclear
            || self.settled
            || self.tried_octave
            || self.rounds >= CHECKS
            || !ends
            || (factor / self.factor - 1.0).abs() <= AGREE
        {
            return None;
        }
        let why = if kept.count() < MIN_CELLS {
            format!("only {} cell(s) found there", kept.count())
        } else {
            // (not "the cells found there are …", which says a check measured them)
            "doubts about the cells found there".to_string()
        };
        self.checks
            .push_str(&format!("; {why}: ×{factor:.3}, an octave up, to try"));
        self.tried_octave = true;
        self.begin_try(factor, Try::Octave);
        Some(Check::Again { factor, width: 0.0 })
    }

    /// Checks the scale against `cells`, found by segmenting at [`ScaleSearch::factor`], and
    /// moves it where they say. After anything but [`Check::Again`] the search is settled.
    /// ([`ScaleSearch::check_found`] checks the cells with what the image's checks doubted
    /// of them; called alone, nothing is doubted.)
    pub fn check(&mut self, cells: &Cells) -> Check {
        self.doubted = Doubted::Nothing;
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
            Check::Again { factor, width } => {
                self.checks.push_str(&format!(
                    "; the cells found there are {width:.1} px wide (the tutorial's {:.1}): \
                     scale ×{factor:.3}",
                    scale::TUTORIAL_CELL_WIDTH
                ));
                self.moved_from = Some(at);
                self.factor = factor;
                self.rounds += 1;
            }
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
    /// merge. A measured start, a field of noise, a few cells, and every check after a move
    /// still aim at the tutorial's width; and so do cells the image's checks doubt (their
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
            };
        };
        let wanted = scale::TUTORIAL_CELL_WIDTH / width;
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
        }
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
}

#[cfg(test)]
mod tests {
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
}
