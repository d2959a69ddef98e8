// The README's walkthrough: train the model of circle.nn, evaluate it, save its weights and load them back.
// Run after `npx nnc build circle.nn --emit js --out models` (see README.md, "From a spec to a trained model").
import fs from "node:fs";
import * as circle from "./models/circle.js";

// Points uniform in [-1.5, 1.5)², labelled 1 inside the unit circle: a seeded generator, so every run is the same.
let state = 7;
const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648) * 3 - 1.5;
function batch(n) {
  const x = new Float32Array(2 * n);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const a = (x[2 * i] = random());
    const b = (x[2 * i + 1] = random());
    y[i] = a * a + b * b < 1 ? 1 : 0;
  }
  return { x, y };
}

// A model instance owns its parameters, running statistics, workspaces and random stream.
const model = circle.createModel({ seed: 1 });

// Train: Adam, 600 steps of 64 points.
const trainer = model.createTrainer({ optimizer: "adam", lr: 1e-2, seed: 1 });
for (let step = 1; step <= 600; step++) {
  const { x, y } = batch(64);
  const loss = trainer.step(x, y, 64);
  if (step === 1 || step % 100 === 0) console.log(`step ${step}: loss ${loss.toFixed(4)}`);
}

// Evaluate on 1,000 points not trained on: the class with the larger logit (predict: evaluation mode).
const test = batch(1000);
function accuracy(m) {
  const { x, y } = test;
  const logits = m.predict(x, 1000);
  let right = 0;
  for (let i = 0; i < 1000; i++) if ((logits[2 * i + 1] > logits[2 * i] ? 1 : 0) === y[i]) right++;
  return right / 1000;
}
console.log(`accuracy ${accuracy(model)}`);

// Save the state dict as safetensors (PyTorch names and layouts: `load_state_dict` takes it) and load it
// into a new instance.
fs.writeFileSync("circle.safetensors", model.saveSafetensors());
const loaded = circle.createModel();
const report = loaded.loadSafetensors(fs.readFileSync("circle.safetensors"));
console.log(`loaded ${report.loaded.length} tensors, ${circle.paramCount} parameters; accuracy ${accuracy(loaded)}`);
