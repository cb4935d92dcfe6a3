/// Fraction of `data` that `model` classifies correctly (argmax of the output), in
/// evaluation mode, `batchSize` examples at a time. Restores the model's mode.
/// `data` must not be empty: an accuracy of nothing is undefined, and reporting 0 %
/// would hide a data set that failed to load (the program stops with a message).
public func accuracy<L: Layer>(of model: L, on data: LabeledImages<L.Scalar>, batchSize: Int = 1000) -> Double {
    require(data.count > 0, "accuracy(of:on:): the data set is empty (0 examples), so it has no accuracy; check the data before evaluating")
    let wasTraining = model.isTraining
    model.isTraining = false
    defer { model.isTraining = wasTraining }
    var correct = 0
    for (images, labels) in data.batches(size: batchSize) {
        correct += zip(model.fprop(images).argmax(), labels).filter { $0 == $1 }.count
    }
    return Double(correct) / Double(data.count)
}
