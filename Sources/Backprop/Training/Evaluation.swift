/// Fraction of `data` that `model` classifies correctly (argmax of the output), in
/// evaluation mode, `batchSize` examples at a time. Restores the model's mode.
public func accuracy<L: Layer>(of model: L, on data: LabeledImages<L.Scalar>, batchSize: Int = 1000) -> Double {
    let wasTraining = model.isTraining
    model.isTraining = false
    defer { model.isTraining = wasTraining }
    var correct = 0
    for (images, labels) in data.batches(size: batchSize) {
        correct += zip(model.fprop(images).argmax(), labels).filter { $0 == $1 }.count
    }
    return Double(correct) / Double(max(data.count, 1))
}
