// Conv2D's direct path for 3×3, stride-1, padding-1 windows (Float on AVX-512): the three
// verbs straight from the NCHW planes, without im2col or GEMM (see Conv2D's doc comment and
// bp_direct_conv3x3_* in CKernels/convolution.c).

extension Conv2D {

    /// Whether the direct fprop and bprop stack the images of a part into one tall plane per channel:
    /// when a plane's pixel count leaves much of its last 16-pixel vector empty (7×7: 49
    /// pixels fill 4 vectors to 77 %; stacked, the vectors are full). Stacking costs a
    /// rearrangement of the input and of the output, [N, C, P] ↔ [C, N·P].
    func stacksImages(_ g: WindowGeometry) -> Bool {
        let plane = g.height * g.width
        return g.batch > 1 && plane * 10 < (plane + 15) / 16 * 16 * 9 // under 90 % of the lanes used
    }

    // fprop: input [N, C, H, W] → output [N, F, H, W] (+ bias);
    // bprop (`adjoint`): gradOutput [N, F, H, W] → gradInput [N, C, H, W]
    func direct(_ source: Tensor<Scalar>, _ g: WindowGeometry, adjoint: Bool) -> Tensor<Scalar> {
        let (from, to) = adjoint ? (outChannels, inChannels) : (inChannels, outChannels)
        let plane = g.height * g.width, stack = stacksImages(g)
        reserve(&packedWeight, (to + 15) / 16 * 16 * from * 9)
        weight.value.withUnsafePointer { w in
            packedWeight.withUnsafeMutableBufferPointer { packed in
                Scalar.packDirectConvolution3x3(w, filters: outChannels, channels: inChannels, adjoint: adjoint, packed.baseAddress!)
            }
        }
        let parts = Swift.min(Threads.count, g.batch)
        prepareWorkspaces(parts)
        if stack {
            for space in workspaces.prefix(parts) {
                reserve(&space.columns, from * plane * ((g.batch + parts - 1) / parts))
                reserve(&space.features, to * plane * ((g.batch + parts - 1) / parts))
            }
        }
        let spaces = workspaces
        return source.withUnsafePointer { x in
            packedWeight.withUnsafeBufferPointer { packed in
                withBias { bias in
                    Tensor<Scalar>(shape: [g.batch, to, g.height, g.width]) { y in
                        // a part of the batch per core (each image's output is its own: any split gives the same result)
                        Threads.parallelFor(parts, costPerItem: from * to * 9 * plane * g.batch / parts) { range in
                            for part in range {
                                let images = (g.batch * part / parts)..<(g.batch * (part + 1) / parts), count = images.count
                                guard stack else {
                                    Scalar.directConvolution3x3(
                                        x, channels: from, height: g.height, width: g.width, stack: 1,
                                        packed.baseAddress!, filters: to, images: images, y)
                                    if !adjoint, let bias {
                                        Scalar.addChannelBias(bias, channels: to, plane: plane, images: images, y)
                                    }
                                    continue
                                }
                                spaces[part].columns.withUnsafeMutableBufferPointer { stacked in
                                    spaces[part].features.withUnsafeMutableBufferPointer { result in
                                        // source [B, from, P] → stacked [from, B·P]: one plane of B images per channel
                                        Scalar.batchMajorToFeatureMajor(
                                            x + images.lowerBound * from * plane, features: from,
                                            batch: count, plane: plane, images: 0..<count,
                                            stacked.baseAddress!)
                                        // result [to, B·P]
                                        Scalar.directConvolution3x3(
                                            stacked.baseAddress!, channels: from, height: g.height,
                                            width: g.width, stack: count, packed.baseAddress!,
                                            filters: to, images: 0..<1, result.baseAddress!)
                                        // result [to, B·P] (+ bias) → y [B, to, P]
                                        Scalar.featureMajorToBatchMajor(
                                            result.baseAddress!, bias: adjoint ? nil : bias,
                                            features: to, batch: count, plane: plane,
                                            images: 0..<count, y + images.lowerBound * to * plane)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // weight.grad [F, C, 3, 3] += Σ_(n, q) gradOutput[n, f, q] · input[n, c, q shifted by the tap]; bias.grad [F] += Σ gradOutput
    // (the kernel puts filters in the vector lanes, so small planes need no stacking here)
    func directGrad(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>, _ g: WindowGeometry) {
        let (f, c, plane) = (outChannels, inChannels, g.height * g.width)
        // a fixed part of the batch per core, each summed into its own buffer (zeroed here), added in order
        let parts = parts(g), split = parts > 1
        prepareWorkspaces(parts)
        if split {
            for space in workspaces.prefix(parts) {
                reserve(&space.weightGrad, f * c * 9)
                space.weightGrad.withUnsafeMutableBufferPointer { Scalar.fill($0.baseAddress!, 0, $0.count) }
            }
        }
        let spaces = workspaces
        input.withUnsafePointer { x in
            gradOutput.withUnsafePointer { gy in
                weight.grad.withUnsafeMutablePointer { weightGrad in
                    Threads.parallelFor(parts, minimumWork: 0) { range in
                        for part in range {
                            let images = (g.batch * part / parts)..<(g.batch * (part + 1) / parts)
                            spaces[part].weightGrad.withUnsafeMutableBufferPointer { partial in
                                Scalar.directConvolution3x3WeightGrad(
                                    x, gy, channels: c, height: g.height, width: g.width,
                                    filters: f, images: images, split ? partial.baseAddress! : weightGrad)
                            }
                        }
                    }
                    if split {
                        for space in spaces.prefix(parts) { Scalar.axpy(f * c * 9, 1, space.weightGrad, weightGrad) }
                    }
                }
                if let bias {
                    var sums = Tensor<Scalar>.zeros([f]).scalars
                    Scalar.channelSums(gy, channels: f, plane: plane, images: 0..<g.batch, &sums, accumulate: false)
                    bias.grad.add(Tensor(shape: [f], scalars: sums))
                }
            }
        }
    }
}
