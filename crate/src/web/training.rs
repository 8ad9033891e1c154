//! Training runs: chapter 2's on the labels, post 3's side by side, fine-tuning on paint; the
//! network's weights in and out.

use super::*;

#[wasm_bindgen]
impl Engine {
    /// Makes pretrained patch network `index` (of those given to `setFineTuneStarts`) the
    /// network to train (to fine-tune it).
    #[wasm_bindgen(js_name = usePretrained)]
    pub fn use_pretrained(&self, index: u32) -> Result<String, JsValue> {
        self.with(|s| {
            let net = s
                .fine_tune_starts
                .get(index as usize)
                .ok_or_else(|| err("the pretrained networks are not loaded"))?;
            s.network = net.clone();
            s.trainer = None;
            Ok(format!("{} ({})", net.spec.name, net.spec))
        })
    }

    /// The pretrained patch networks that fine-tuning may start from (weights files as
    /// Uint8Arrays); returns their text forms. All or nothing, as `setEnsemble`.
    #[wasm_bindgen(js_name = setFineTuneStarts)]
    pub fn set_fine_tune_starts(&self, files: js_sys::Array) -> Result<Vec<String>, JsValue> {
        self.with(|s| {
            let mut nets = Vec::new();
            for (k, file) in files.iter().enumerate() {
                let bytes = Uint8Array::new(&file).to_vec();
                let net = weights::from_bytes(&bytes, None, &s.backend.device)
                    .map_err(|e| err(format!("pretrained network {} to fine-tune: {e}", k + 1)))?;
                nets.push(net);
            }
            let texts = nets
                .iter()
                .map(|n| format!("{} ({})", n.spec.name, n.spec))
                .collect();
            s.fine_tune_starts = nets;
            Ok(texts)
        })
    }

    /// Prepares fine-tuning of the current network on the painted pixels (all of the image
    /// is fair game: the paint is the only truth here), at the image's scale.
    #[wasm_bindgen(js_name = startFineTuning)]
    pub fn start_fine_tuning(
        &self,
        learning_rate: f64,
        batch: u32,
        seed: u32,
        augment: bool,
    ) -> Result<(), JsValue> {
        self.with(|s| {
            let paint = s
                .paint
                .as_ref()
                .ok_or_else(|| err("paint some pixels of each class first"))?;
            let [other, cell, edge] = paint.counts();
            let missing: Vec<&str> = [(other, "other"), (cell, "cell"), (edge, "edge")]
                .iter()
                .filter(|(n, _)| *n == 0)
                .map(|(_, name)| *name)
                .collect();
            if !missing.is_empty() {
                return Err(err(format!(
                    "fine-tuning needs painted pixels of every class: paint some {} too",
                    missing.join(" and ")
                )));
            }
            let plane = s.networks_plane().ok_or_else(|| err("no image loaded"))?;
            let paint = paint.paint_resized(plane.width, plane.height);
            let whole = Rect::new(0, 0, plane.width, plane.height);
            let config = TrainConfig {
                heldout_patches: 300,
                ..train_config(learning_rate, batch, seed, augment)
            };
            let trainer = Trainer::new(
                s.network.clone(),
                &plane,
                &paint,
                whole,
                whole,
                config,
                &s.backend.device,
            )
            .map_err(|e| err(format!("painted labels: {e}")))?;
            s.trainer = Some(Run {
                trainer,
                learns_from: LearnsFrom::Paint,
                seed: seed as u64,
            });
            s.auto_scale = None; // the paint was made for this scale: it stays
            Ok(())
        })
    }

    /// Replaces the network by a fresh one: `arch` is a preset name or a text form.
    #[wasm_bindgen(js_name = newNetwork)]
    pub fn new_network(&self, arch: &str, seed: u32) -> Result<String, JsValue> {
        let spec = spec_of(arch)?;
        self.with(|s| {
            s.network = Network::new(&spec, seed as u64, &s.backend.device);
            s.trainer = None;
            Ok(spec.to_string())
        })
    }

    /// Prepares training of the current network on the left two thirds of the labelled image.
    #[wasm_bindgen(js_name = startTraining)]
    pub fn start_training(
        &self,
        learning_rate: f64,
        batch: u32,
        seed: u32,
        augment: bool,
    ) -> Result<(), JsValue> {
        self.with(|s| {
            let image = s.image.as_ref().ok_or_else(|| err("no image loaded"))?;
            let labels = s
                .labels
                .as_ref()
                .ok_or_else(|| err("training needs labels for the image"))?;
            let config = train_config(learning_rate, batch, seed, augment);
            let (train, heldout) = heldout_split(image.width, image.height);
            let net = s.network.clone();
            // the image as the networks are shown it at ×1 (smoothed where it is noisier than
            // they learned), so the network learns from what it will segment
            let (seen, _) = crate::pipeline::networks_view(image, 1.0);
            let trainer = Trainer::new(
                net,
                seen.as_ref().unwrap_or(image),
                labels,
                train,
                heldout,
                config,
                &s.backend.device,
            )
            .map_err(err)?;
            s.trainer = Some(Run {
                trainer,
                learns_from: LearnsFrom::Labels,
                seed: seed as u64,
            });
            Ok(())
        })
    }

    /// Changes learning rate, batch size and augmentation of the prepared run, keeping its
    /// optimizer state.
    #[wasm_bindgen(js_name = adjustTraining)]
    pub fn adjust_training(
        &self,
        learning_rate: f64,
        batch: u32,
        augment: bool,
    ) -> Result<(), JsValue> {
        self.with(|s| {
            let run = s
                .trainer
                .as_mut()
                .ok_or_else(|| err("training was not started"))?;
            let augment = Augment {
                flips: augment,
                rotations: augment,
                looks: false,
            };
            (run.trainer).adjust(learning_rate, batch.clamp(1, MAX_BATCH) as usize, augment);
            Ok(())
        })
    }

    /// Runs `steps` Adam steps; resolves to the last one's [`api::Step`].
    #[wasm_bindgen(js_name = trainSteps)]
    pub fn train_steps(&self, steps: u32) -> Promise {
        self.job(move |state| async move {
            let mut run = state
                .borrow_mut()
                .trainer
                .take()
                .ok_or_else(|| err("training was not started"))?;
            let mut result = Ok(None);
            for _ in 0..steps {
                match run.trainer.step().await {
                    Ok(r) => result = Ok(Some(api::Step::from(r))),
                    Err(e) => {
                        result = Err(err(e));
                        break;
                    }
                }
            }
            let mut s = state.borrow_mut();
            s.network = run.trainer.network();
            s.trainer = Some(run);
            to_js(&result?)
        })
    }

    /// Mistake rate (0..1) of the network in training on the held-out patches.
    #[wasm_bindgen(js_name = heldoutMistakes)]
    pub fn heldout_mistakes(&self) -> Promise {
        self.job(|state| async move {
            let run = state
                .borrow_mut()
                .trainer
                .take()
                .ok_or_else(|| err("training was not started"))?;
            let rate = run.trainer.heldout_mistake_rate().await;
            state.borrow_mut().trainer = Some(run);
            Ok(rate.map_err(err)?.into())
        })
    }

    /// Prepares fresh networks of `archs` (preset names or text forms) to train side by side
    /// on the same batches; returns their text forms. The network of `startTraining` is
    /// left alone.
    #[wasm_bindgen(js_name = startComparison)]
    pub fn start_comparison(
        &self,
        archs: Vec<String>,
        learning_rate: f64,
        batch: u32,
        seed: u32,
        augment: bool,
    ) -> Result<Vec<String>, JsValue> {
        let specs = archs
            .iter()
            .map(|a| spec_of(a))
            .collect::<Result<Vec<_>, _>>()?;
        if !(2..=MAX_COMPARED).contains(&specs.len()) {
            return Err(err(format!(
                "compare 2 to {MAX_COMPARED} networks, not {}",
                specs.len()
            )));
        }
        self.with(|s| {
            let (image, labels) = Engine::labelled(s)?;
            let config = train_config(learning_rate, batch, seed, augment);
            let (train, heldout) = heldout_split(image.width, image.height);
            let comparison = Comparison::new(
                &specs,
                image,
                labels,
                train,
                heldout,
                config,
                &s.backend.device,
            )
            .map_err(err)?;
            s.comparison = Some(comparison);
            Ok(specs.iter().map(|spec| spec.to_string()).collect())
        })
    }

    /// One step of every compared network on one shared batch; resolves to their losses and
    /// batch mistakes in the order of `startComparison` ([`api::ComparisonStep`]).
    #[wasm_bindgen(js_name = comparisonStep)]
    pub fn comparison_step(&self) -> Promise {
        self.job(|state| async move {
            let mut comparison = Engine::take_comparison(&state)?;
            let reports = comparison.step().await;
            state.borrow_mut().comparison = Some(comparison);
            let reports = reports.map_err(err)?;
            to_js(&api::ComparisonStep {
                loss: reports.iter().map(|r| r.loss).collect(),
                batch_mistakes: reports.iter().map(|r| r.batch_mistakes).collect(),
            })
        })
    }

    /// Each compared network's mistake rate (0..1) on the shared held-out patches.
    #[wasm_bindgen(js_name = comparisonHeldout)]
    pub fn comparison_heldout(&self) -> Promise {
        self.job(|state| async move {
            let comparison = Engine::take_comparison(&state)?;
            let rates = comparison.heldout_mistake_rates().await;
            state.borrow_mut().comparison = Some(comparison);
            Ok(Float32Array::from(rates.map_err(err)?.as_slice()).into())
        })
    }

    /// The current network as a weights file.
    #[wasm_bindgen(js_name = saveWeights)]
    pub fn save_weights(&self) -> Promise {
        self.job(|state| async move {
            let network = state.borrow().network.clone();
            let cpu = network
                .copy_to(&burn::tensor::Device::flex())
                .await
                .map_err(err)?;
            let bytes = weights::to_bytes(&cpu).map_err(err)?;
            Ok(Uint8Array::from(bytes.as_slice()).into())
        })
    }

    /// Replaces the network by one read from a weights file; returns its text form.
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights(&self, bytes: &[u8]) -> Result<String, JsValue> {
        self.with(|s| {
            let net = weights::from_bytes(bytes, None, &s.backend.device).map_err(err)?;
            let text = format!("{} ({})", net.spec.name, net.spec);
            s.network = net;
            s.trainer = None;
            Ok(text)
        })
    }
}
