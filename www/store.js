// The page's state in one place; the browser tests read it as window.cellseg.
//
// What lives in the worker's session (crate/src/session.rs, Status: the image and the size the
// networks see it at and the blur they see it with, the scale and whether it is still being checked, labels, paint, the
// training run and what it learns from, map, cells, ensemble) comes back with every reply and
// is applied here, as `state.session`: the page reads that rather than tracking what each
// request changed. The rest is the page's own: what it shows and what is running.

export const state = {
  image: null, // {width, height, rgba}
  crop: { x: 0, y: 0 },
  training: false,
  jobs: 0, // requests running other than training
  trainedSteps: 0,
  curve: { step: [], batch: [], heldout: [], loss: [] },
  lastProbs: null,
  lastCells: null, // {labels, areas, rect} of lastProbs after the clean-up
  compare: null,
  session: null, // the worker's session after its last reply

  // read from the session, never set: whether the image has labels, and how many
  // pretrained networks the worker holds
  get labelled() {
    return Boolean(this.session?.labelled);
  },
  get ensembleSize() {
    return this.session?.ensemble ?? 0;
  },
};

/** The worker's session after a reply (null while a job held it: nothing new then). */
export function applyStatus(status) {
  if (status) state.session = status;
}
