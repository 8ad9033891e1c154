//! Scales the search tries once: the tutorial's, the image's strongest features' and an
//! octave up, each where it applies, and `begin_try`, which every try uses (the population's
//! width among them). [`ScaleSearch::check_found`] judges what a try finds, and takes it back
//! where the cells found there do not bear it out.

use super::{AGREE, CHECKS, Check, Doubted, MIN_CELLS, ScaleSearch, Tried, Try};
use crate::core::cells::Cells;

impl ScaleSearch {
    /// Moves to `factor` for a try ([`ScaleSearch::check_found`]), remembering where the
    /// search stood so that it can be taken back.
    pub(super) fn begin_try(&mut self, factor: f64, kind: Try) {
        // (a try away from the ×1 the image's edges took the search to: they are not asked
        // again)
        self.sharp_spent |= self.sharp_moved;
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
    pub(super) fn try_tutorial(&mut self, kept: &Cells) -> Option<Check> {
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
    pub(super) fn try_another(&mut self, kept: &Cells) -> Check {
        self.try_tutorial(kept)
            .or_else(|| self.try_unclear(kept))
            .or_else(|| self.try_octave(kept))
            .unwrap_or_else(|| self.check_kept(kept))
    }

    /// Where no cell width stood out in the image ([`NoEstimate::Unclear`](crate::scale::width::NoEstimate::Unclear)) and the guessed ×1
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
    pub(super) fn try_unclear(&mut self, kept: &Cells) -> Option<Check> {
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

    /// Where no width stood out ([`NoEstimate::Unclear`](crate::scale::width::NoEstimate::Unclear)) and the search would end on too
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
    pub(super) fn try_octave(&mut self, kept: &Cells) -> Option<Check> {
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
}
