// A gradient check of a whole model under its loss (and the penalties it reports).

extension GradientCheck {
    /// Checks a whole model under its loss: the objective is
    /// `criterion.forward(model.fprop(x), target)` plus the penalties the model reports
    /// (a VAE's KL term, sparsity and contractive penalties), and the analytic gradient
    /// is what a training step computes: `model.backward(x, criterion.backward(output, target))`.
    ///
    /// ```swift
    /// // a VAE with ε fixed: reconstruction loss + KL, by central differences
    /// let report = GradientCheck.check(vae, input: x, criterion: BCEWithLogitsLoss(reduction: .batchMean), target: x)
    /// ```
    public static func check<L: Layer, C: Criterion>(
        _ model: L, input: Tensor<Double>, criterion: C, target: C.Target,
        epsilon: Double = 1e-6, checkInput: Bool = true,
        tolerance: Tolerance = .init()
    ) -> GradientCheckReport
    where L.Scalar == Double, C.Scalar == Double {
        let objective = { (x: Tensor<Double>) -> Double in
            criterion.forward(model.fprop(x), target) + penalty(of: model)
        }
        model.zeroGrad()
        let output = model.fprop(input)
        let gradInput = model.backward(input, criterion.backward(output, target))
        return compareAll(
            model, input: input, gradInput: gradInput, checkInput: checkInput,
            epsilon: epsilon, tolerance: tolerance, objective: objective)
    }
}
