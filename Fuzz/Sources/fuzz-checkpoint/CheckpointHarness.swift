// libFuzzer harness for checkpoint restore: the bytes are parsed as a safetensors file,
// then restored into a small model (Linear 3→4, Tanh, Linear 4→2) with SGD (momentum)
// and with Adam. A restore either throws a `CheckpointError`/`StateDictError`/
// `SafeTensorsError` or succeeds; an error must leave model and optimizer untouched.
import Backprop
import FuzzDriver

func smallModel() -> Sequential<Float> {
    var rng = Random(seed: 7)
    let model = Sequential<Float>()
    model.add(Linear<Float>(3, 4, using: &rng))
    model.add(Tanh<Float>())
    model.add(Linear<Float>(4, 2, using: &rng))
    return model
}

func values(_ model: Sequential<Float>) -> [[Float]] { model.parameters.map(\.value.scalars) }

func attempt<O: CheckpointableOptimizer>(_ file: SafeTensors, _ makeOptimizer: (Sequential<Float>) -> O)
where O.Scalar == Float {
    let model = smallModel()
    let optimizer = makeOptimizer(model)
    let before = values(model)
    let stepsBefore = optimizer.stepCount
    do {
        try Checkpoint.restore(model: model, optimizer: optimizer, from: file)
    } catch is CheckpointError, is StateDictError, is SafeTensorsError {
        precondition(values(model) == before, "a failed restore changed the model")
        precondition(optimizer.stepCount == stepsBefore, "a failed restore changed the optimizer")
    } catch {
        fatalError("Checkpoint.restore threw an unexpected error: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let file = try? SafeTensors(bytes: bytes) else { return 0 }
    let global = Random.global
    attempt(file) { SGD($0.parameters, learningRate: 0.1, momentum: 0.9) }
    attempt(file) { Adam($0.parameters, learningRate: 0.01) }
    _ = try? Checkpoint.state(of: file)
    Random.global = global
    return 0
}

/// Seed inputs written by the library itself: checkpoints of the harness's model after a
/// few steps of SGD with momentum and of Adam, and a plain model file (not a checkpoint).
func writeSeeds(to directory: String) throws {
    func train<O: Optimizer>(_ model: Sequential<Float>, _ optimizer: O) where O.Scalar == Float {
        let x = Tensor<Float>(shape: [5, 3]) { for i in 0..<15 { $0[i] = Float(i % 7) / 7 - 0.5 } }
        let loss = MSELoss<Float>()
        for _ in 0..<3 {
            model.zeroGrad()
            let y = model.fprop(x)
            model.grad(x, loss.backward(y, Tensor<Float>.zeros(y.shape)))
            optimizer.step()
        }
    }
    let model = smallModel()
    let sgd = SGD(model.parameters, learningRate: 0.1, momentum: 0.9)
    train(model, sgd)
    try Checkpoint.save(
        model: model, optimizer: sgd,
        state: TrainingState(
            epoch: 2, step: 3, generators: ["shuffle": Random(seed: 3)],
            info: ["run": "seed"]),
        to: "\(directory)/sgd.safetensors")
    let other = smallModel()
    let adam = Adam(other.parameters, learningRate: 0.01)
    train(other, adam)
    try Checkpoint.save(model: other, optimizer: adam, state: TrainingState(epoch: 1, step: 3), to: "\(directory)/adam.safetensors")
    try other.save(to: "\(directory)/model.safetensors")
}

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver, or
/// `--write-seeds DIR` to write the seed corpus.
@_cdecl("fuzz_checkpoint_main")
public func fuzz_checkpoint_main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    if argc == 3, let argv, String(cString: argv[1]!) == "--write-seeds" {
        do { try writeSeeds(to: String(cString: argv[2]!)) } catch { fatalError("\(error)") }
        return 0
    }
    return fuzz_driver_run(argc, argv) { data, size in fuzzCheckpoint(data, size) }
}
