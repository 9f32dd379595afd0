// Runs an ONNX model with onnxruntime-node: node run.js MODEL.onnx IN.json OUT.json
// IN.json: {"rows": R, "cols": C, "data": [R*C floats]}; OUT.json: {name: {"dims": [...], "data": [...]}}
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, inPath, outPath] = process.argv.slice(2);
  const input = JSON.parse(fs.readFileSync(inPath, 'utf8'));
  const session = await ort.InferenceSession.create(model);
  const feeds = { input: new ort.Tensor('float32', Float32Array.from(input.data), [input.rows, input.cols]) };
  const results = await session.run(feeds);
  const out = {};
  for (const [name, t] of Object.entries(results)) {
    out[name] = { dims: t.dims, data: Array.from(t.data) };
  }
  fs.writeFileSync(outPath, JSON.stringify(out));
  console.log(`onnxruntime-node ${require('onnxruntime-node/package.json').version}: ran ${model}: ` +
    Object.entries(out).map(([n, t]) => `${n} [${t.dims}]`).join(', '));
}
main().catch((e) => { console.error(e); process.exit(1); });
