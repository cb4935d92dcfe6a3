// Evaluating a model on a whole data set: accuracy and mean loss, in evaluation mode and by batches.
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

/// The loss of `model` on `data`: `criterion` on each batch of `batchSize` examples, in
/// evaluation mode, the batch losses weighted by their sizes. With a criterion that averages
/// over the batch (the default `.mean` of `CrossEntropyLoss` and `NLLLoss`) this is the mean
/// over all examples, whatever the batch size. Restores the model's mode. `data` must not
/// be empty.
///
/// ```swift
/// let validationLoss = loss(of: model, on: validation, criterion: CrossEntropyLoss<Float>())
/// ```
public func loss<L: Layer, C: Criterion>(of model: L, on data: LabeledImages<L.Scalar>, criterion: C, batchSize: Int = 1000) -> Double
where C.Scalar == L.Scalar, C.Target == [Int] {
    require(
        data.count > 0,
        "loss(of:on:criterion:): the data set is empty (0 examples), so it has no mean loss; check the data before evaluating")
    let wasTraining = model.isTraining
    model.isTraining = false
    defer { model.isTraining = wasTraining }
    var total = 0.0
    for (images, labels) in data.batches(size: batchSize) {
        total += Double(criterion.forward(model.fprop(images), labels)) * Double(labels.count)
    }
    return total / Double(data.count)
}
