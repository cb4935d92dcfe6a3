// autoencoder-dynamics: an autoencoder as a dynamical system on the plane.
//
//   swift run -c release autoencoder-dynamics [--curve circle|spiral] [--hidden 500]
//                                             [--sigma 0.2] [--steps 3000] [--out DIR]
//
// A denoising autoencoder learns to map a corrupted point x̃ back to the clean point it
// came from. Its reconstruction r(x) is then an estimate of "the data point nearest x", and
// r(x) − x points from x towards the data (Seung 1998; Alain & Bengio 2013: for a small
// corruption σ, r(x) − x ≈ σ² ∇ log p(x), the score of the data density). With tied
// weights and a linear output, r(x) − x is exactly the gradient of an energy,
//
//     E(x) = Σ_j softplus(W_j · x + b_j) − ½ ‖x − c‖²,     ∇E(x) = r(x) − x
//
// (Kamyshanska & Memisevic 2013), so the autoencoder is a dynamical system x ← r(x) that
// climbs E: its attractors are the data.
//
// Here the data are 2-D points near a curve (a circle or a spiral), the autoencoder has
// many more hidden units than the 2 inputs, and we look at the field r(x) − x, the energy
// under it, and where iterating x ← r(x) takes random starting points.
//
// Figures: the mean distance to the curve of a grid of random starts, before and after
// --iterations steps x ← r(x); an SVG of the arrows r(x) − x over E(x), with the training
// points on top.

import Backprop
import ExampleSupport
import Foundation

// 1. Options.
let options = Options("autoencoder-dynamics", "a tied denoising autoencoder on 2-D points as a vector field and an energy")
let curveName = options.string("curve", "circle", "the data curve: circle (radius 1) or spiral")
let pointCount = options.int("points", 2000, "training points", range: 10...1_000_000)
let jitter = options.double("jitter", 0.02, "standard deviation of the points around the curve")
let hidden = options.int("hidden", 500, "hidden units", range: Limits.layerSize)
let slope = options.double("slope", 0.2, "the hidden units' initial slopes (length of the rows of W)")
let scale = options.double("scale", 20, "the autoencoder's units: k times the data's")
let sigma = options.double("sigma", 0.2, "standard deviation of the Gaussian corruption during training")
let steps = options.int("steps", 3000, "training steps (mini-batches)", range: 1...10_000_000)
let batchSize = options.int("batch", 100, "points per mini-batch", range: Limits.batchSize)
let learningRate = options.double("lr", 3e-3, "Adam's learning rate, annealed to 0 by a cosine schedule")
let iterations = options.int("iterations", 50, "steps x ← r(x) from each start", range: 0...100_000)
let gridSide = options.int("grid", 20, "the starts: one random point in each cell of a grid×grid grid", range: 1...1000)
let extent = options.double("extent", 1.5, "the plane shown (and the starts): [-extent, extent]²")
let seed = options.seed(1, "random seed")
let threads = options.threads(1)
let outDir = options.outputDirectory("out", ".", "directory for the figure")
options.require(["circle", "spiral"].contains(curveName), "--curve must be circle or spiral, got '\(curveName)'")
options.require(jitter >= 0 && jitter < 1, "--jitter must be in [0, 1)")
options.require(sigma > 0 && sigma < 2, "--sigma must be in (0, 2)")
options.require(slope > 0 && slope <= 100, "--slope must be in (0, 100]")
options.require(scale > 0 && scale <= 1000, "--scale must be in (0, 1000]")
options.require(learningRate > 0 && learningRate < 1, "--lr must be in (0, 1)")
options.require(extent > 0 && extent <= 100, "--extent must be in (0, 100]")
options.requireActivations(batch: max(batchSize, gridSide * gridSide), width: hidden, "--batch, --grid and --hidden")
options.finish()
Threads.count = threads
let clock = Stopwatch()
var rng = Random(seed: seed)

// 2. The data: points on the curve, plus a little noise. The curve itself is kept as a
//    dense polyline, to measure how far a point is from it.
/// The curve at parameter t in [0, 1].
@MainActor func curve(_ t: Double) -> (x: Double, y: Double) {
    if curveName == "circle" { return (cos(2 * .pi * t), sin(2 * .pi * t)) }
    let angle = 0.5 + 3 * .pi * t, radius = 0.15 + 1.1 * t // one and a half turns, from 0.15 out to 1.25
    return (radius * cos(angle), radius * sin(angle))
}
let dense = (0...4000).map { curve(Double($0) / 4000) }
/// The distance from (x, y) to the curve (to the nearest of its dense points).
@MainActor func distanceToCurve(_ x: Double, _ y: Double) -> Double {
    dense.map { ($0.x - x) * ($0.x - x) + ($0.y - y) * ($0.y - y) }.min()!.squareRoot()
}
var data = [Float]()
for _ in 0..<pointCount {
    let p = curve(rng.nextUnit()), (e1, e2) = rng.nextNormalPair()
    data += [Float(p.x + jitter * e1), Float(p.y + jitter * e2)]
}
let points = Tensor<Float>(shape: [pointCount, 2], scalars: data)

// 3. The model: Gaussian corruption (training only), then r(x) = Wᵀ sigmoid(W x + b) + c
//    with one weight matrix W [hidden, 2] used twice. Many hidden units: each is a soft
//    half-plane, and together they tile the plane finely enough to draw the curve.
//    The autoencoder works in units k = --scale times larger (the circle's radius is k
//    there): with tied weights a unit's slope |w_j| is also the size of its output w_j σ(·),
//    and on a unit circle the slopes that keep Σ_j w_j σ(·) near x would be too small for
//    any unit to bend within the square. r(x) = r_k(k x) / k and E(x) = E_k(k x) / k² in the
//    data's units (still ∇E(x) = r(x) − x).
let corruption = GaussianNoise<Float>(sigma * scale, using: &rng)
let autoencoder = TiedAutoencoder<Float>(2, hidden, hidden: .sigmoid, output: .linear, initializer: .uniformFanIn, using: &rng)
//    The start: unit j is a soft step across a line through a random point p_j of the
//    square, w_j of length about --slope in a random direction and b_j = −w_j · p_j, so the
//    steps tile the whole square. (The default initialisation's weights, summed over 500
//    units in Wᵀ h, would start r(x) far outside the square.)
do {
    var w = [Float](), b = [Float]()
    for _ in 0..<hidden {
        let (g1, g2) = rng.nextNormalPair()
        let p = (x: scale * extent * (2 * rng.nextUnit() - 1), y: scale * extent * (2 * rng.nextUnit() - 1))
        let (w1, w2) = (slope * g1 / 2.squareRoot(), slope * g2 / 2.squareRoot())
        w += [Float(w1), Float(w2)]
        b.append(Float(-(w1 * p.x + w2 * p.y)))
    }
    autoencoder.encoder.weight.value = Tensor(shape: [hidden, 2], scalars: w)
    autoencoder.encoder.bias!.value = Tensor(b)
}
let model = Sequential<Float> {
    corruption
    autoencoder
}
print(model.description)

// 4. Training: the reconstruction of the corrupted point must be the clean point
//    (squared error per point), Adam on random mini-batches.
let loss = MSELoss<Float>(reduction: .batchMean)
let optimizer = Adam(model.parameters, learningRate: learningRate, schedule: .warmupCosine(warmup: 0, total: steps, minimum: 0))
var order = Random(seed: seed &+ 1)
var running = 0.0
for step in 1...steps {
    let rows = (0..<batchSize).map { _ in Int(order.next() % UInt64(pointCount)) }
    let x = Tensor<Float>(shape: [batchSize, 2], scalars: rows.flatMap { [data[2 * $0], data[2 * $0 + 1]] }) * Float(scale)
    let r = model.fprop(x)
    let value = Double(loss.forward(r, x)) / (scale * scale) // (in the data's units)
    guard value.isFinite else { fail("autoencoder-dynamics: the loss became \(value) at step \(step); try a smaller --lr") }
    running = step == 1 ? value : 0.98 * running + 0.02 * value
    model.zeroGrad()
    model.grad(x, loss.backward(r, x))
    optimizer.step()
    if step % max(1, steps / 5) == 0 || step == steps {
        print(String(format: "step %5d  denoising error %.4f per point (σ = %g)", step, running, sigma))
    }
}
model.isTraining = false // no corruption from here on
/// r(x) and E(x) in the data's units.
@MainActor func reconstruct(_ x: Tensor<Float>) -> Tensor<Float> { autoencoder.fprop(x * Float(scale)) * Float(1 / scale) }
@MainActor func energy(_ x: Tensor<Float>) -> Tensor<Float> { autoencoder.energy(x * Float(scale)) * Float(1 / (scale * scale)) }

// 5. The dynamics: one random start in each cell of a grid over the square, then
//    x ← r(x) again and again. Each step moves x by r(x) − x = ∇E(x): uphill on the energy,
//    towards the data.
let side = gridSide, cell = 2 * extent / Double(side)
var starts = [Float]()
for i in 0..<side {
    for j in 0..<side {
        starts += [Float(-extent + (Double(j) + rng.nextUnit()) * cell), Float(-extent + (Double(i) + rng.nextUnit()) * cell)]
    }
}
var walkers = Tensor<Float>(shape: [side * side, 2], scalars: starts)
@MainActor func meanDistance(_ t: Tensor<Float>) -> Double {
    (0..<t.shape[0]).map { distanceToCurve(Double(t.scalars[2 * $0]), Double(t.scalars[2 * $0 + 1])) }.reduce(0, +) / Double(t.shape[0])
}
let before = meanDistance(walkers)
let energyBefore = Double(energy(walkers).mean())
for _ in 0..<iterations { walkers = reconstruct(walkers) }
let after = meanDistance(walkers)
let energyAfter = Double(energy(walkers).mean())
let dataDistance = meanDistance(points)
print(
    String(
        format:
            "mean distance to the %@ of %d random starts: %.4f before, %.4f after %d steps x ← r(x) (%.1f× smaller); the training points: %.4f",
        curveName, side * side, before, after, iterations, before / max(after, 1e-12), dataDistance))
print(String(format: "mean energy E(x) of the starts: %.3f before, %.3f after (x ← r(x) climbs E)", energyBefore, energyAfter))

// 6. The picture: the arrows r(x) − x on a 25×25 grid, over E(x) on a 100×100 grid, with
//    the training points (at most 600 of them) on top.
/// The points of a `n`×`n` grid of cell centres over the square, row by row from the bottom.
@MainActor func gridPoints(_ n: Int) -> Tensor<Float> {
    let h = 2 * extent / Double(n)
    var scalars = [Float]()
    for i in 0..<n {
        for j in 0..<n { scalars += [Float(-extent + (Double(j) + 0.5) * h), Float(-extent + (Double(i) + 0.5) * h)] }
    }
    return Tensor<Float>(shape: [n * n, 2], scalars: scalars)
}
let shading = gridPoints(100)
let energies = energy(shading).scalars.map(Double.init)
let arrowTails = gridPoints(25)
let moves = reconstruct(arrowTails) - arrowTails
var field = VectorField(
    title: "\(curveName): r(x) − x over the energy E(x)", xLabel: "x₁", yLabel: "x₂",
    x: -extent...extent, y: -extent...extent, width: 640, height: 580)
field.setBackground(values: energies, columns: 100, rows: 100, label: "E(x)")
field.backgroundLimits = energies.sorted()[energies.count / 5]...energies.max()! // (the corners' lowest fifth share one colour)
var arrows: [VectorField.Arrow] = []
for k in 0..<arrowTails.shape[0] {
    let (x, y) = (Double(arrowTails.scalars[2 * k]), Double(arrowTails.scalars[2 * k + 1]))
    arrows.append((x: x, y: y, dx: Double(moves.scalars[2 * k]), dy: Double(moves.scalars[2 * k + 1])))
}
field.add(arrows: arrows)
let shown = stride(from: 0, to: pointCount, by: max(1, pointCount / 600))
field.add(points: shown.map { (x: Double(data[2 * $0]), y: Double(data[2 * $0 + 1])) }, name: "training points")
if let path = figurePath(outDir, "autoencoder-dynamics-\(curveName).svg") {
    do {
        try field.write(to: path)
        print("wrote \(path)")
    } catch {
        RunProblems.report("figure \(path) not written: \(error)")
    }
}
print("total time \(clock.formatted) with \(threads) threads")
finishRun()
