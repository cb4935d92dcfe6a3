/// The default (generic) loops of max and average pooling, part of `ConvolutionKernels`:
/// each works on a sub-range of the image planes (an index into the N·C planes).
extension ConvolutionKernels where Self: TensorScalar {

    public static func maxPool2D(
        _ input: UnsafePointer<Self>, _ g: WindowGeometry, planes: Range<Int>,
        _ output: UnsafeMutablePointer<Self>, _ argmax: UnsafeMutablePointer<Int32>
    ) {
        // input [N·C, H, W] → output, argmax [N·C, outH, outW]
        let outH = g.outputHeight, outW = g.outputWidth, width = g.width
        // The comparisons are written as selects (no branches): on real data the winner of
        // each window is unpredictable, and mispredicted branches would dominate the time.
        // They are plain `>`, so the first maximum in scan order wins ties.
        if g.kernelHeight == 2 && g.kernelWidth == 2 && g.paddingHeight == 0 && g.paddingWidth == 0 {
            // the common 2×2 window without padding: every window lies inside the image
            let sh = g.strideHeight, sw = g.strideWidth
            for plane in planes {
                let x = input + plane &* g.inputPlane
                let y = output + plane &* g.outputPlane, index = argmax + plane &* g.outputPlane
                for oh in 0..<outH {
                    let top = oh &* sh &* width
                    let row0 = x + top, row1 = row0 + width
                    let yRow = y + oh &* outW, indexRow = index + oh &* outW
                    for ow in 0..<outW {
                        let w = ow &* sw
                        // candidates in scan order a, b (top row), c, d (bottom row): the better
                        // of (a, b), of (c, d), then of the two; `>` keeps the first on ties
                        let a = row0[w], b = row0[w &+ 1], c = row1[w], d = row1[w &+ 1]
                        let takeB = b > a, takeD = d > c
                        let top2 = takeB ? b : a, topAt = takeB ? w &+ 1 : w
                        let bottom2 = takeD ? d : c, bottomAt = takeD ? width &+ w &+ 1 : width &+ w
                        let takeBottom = bottom2 > top2
                        yRow[ow] = takeBottom ? bottom2 : top2
                        indexRow[ow] = Int32(truncatingIfNeeded: top &+ (takeBottom ? bottomAt : topAt))
                    }
                }
            }
            return
        }
        for plane in planes {
            let x = input + plane &* g.inputPlane
            let y = output + plane &* g.outputPlane, index = argmax + plane &* g.outputPlane
            for oh in 0..<outH {
                let h0 = oh &* g.strideHeight &- g.paddingHeight
                let hLo = Swift.max(h0, 0), hHi = Swift.min(h0 &+ g.kernelHeight, g.height)
                for ow in 0..<outW {
                    let w0 = ow &* g.strideWidth &- g.paddingWidth
                    let wLo = Swift.max(w0, 0), wHi = Swift.min(w0 &+ g.kernelWidth, width)
                    var bestIndex = hLo &* width &+ wLo, best = x[bestIndex]
                    for h in hLo..<hHi {
                        for w in wLo..<wHi {
                            let k = h &* width &+ w
                            let v = x[k]
                            let take = v > best // strict: the first maximum wins
                            best = take ? v : best
                            bestIndex = take ? k : bestIndex
                        }
                    }
                    y[oh &* outW &+ ow] = best
                    index[oh &* outW &+ ow] = Int32(truncatingIfNeeded: bestIndex)
                }
            }
        }
    }

    public static func maxPool2DBackward(
        _ gradOutput: UnsafePointer<Self>, _ argmax: UnsafePointer<Int32>,
        _ g: WindowGeometry, planes: Range<Int>, _ gradInput: UnsafeMutablePointer<Self>
    ) {
        // gradOutput, argmax [N·C, outH, outW] → gradInput [N·C, H, W]
        let outPlane = g.outputPlane
        for plane in planes {
            let gx = gradInput + plane &* g.inputPlane
            fill(gx, 0, g.inputPlane)
            let gy = gradOutput + plane &* outPlane, index = argmax + plane &* outPlane
            for k in 0..<outPlane { gx[Int(index[k])] += gy[k] }
        }
    }

    public static func avgPool2D(
        _ input: UnsafePointer<Self>, _ g: WindowGeometry, planes: Range<Int>,
        _ output: UnsafeMutablePointer<Self>
    ) {
        // input [N·C, H, W] → output [N·C, outH, outW]
        let outH = g.outputHeight, outW = g.outputWidth
        let scale = 1 / Self(g.kernelHeight &* g.kernelWidth)
        for plane in planes {
            let x = input + plane &* g.inputPlane, y = output + plane &* g.outputPlane
            for oh in 0..<outH {
                let h0 = oh &* g.strideHeight &- g.paddingHeight
                let hLo = Swift.max(h0, 0), hHi = Swift.min(h0 &+ g.kernelHeight, g.height)
                for ow in 0..<outW {
                    let w0 = ow &* g.strideWidth &- g.paddingWidth
                    let wLo = Swift.max(w0, 0), wHi = Swift.min(w0 &+ g.kernelWidth, g.width)
                    var total: Self = 0
                    for h in hLo..<hHi {
                        for w in wLo..<wHi { total += x[h &* g.width &+ w] }
                    }
                    y[oh &* outW &+ ow] = total * scale
                }
            }
        }
    }

    public static func avgPool2DBackward(
        _ gradOutput: UnsafePointer<Self>, _ g: WindowGeometry, planes: Range<Int>,
        _ gradInput: UnsafeMutablePointer<Self>
    ) {
        // gradOutput [N·C, outH, outW] → gradInput [N·C, H, W]
        let outH = g.outputHeight, outW = g.outputWidth
        let scale = 1 / Self(g.kernelHeight &* g.kernelWidth)
        for plane in planes {
            let gx = gradInput + plane &* g.inputPlane, gy = gradOutput + plane &* g.outputPlane
            fill(gx, 0, g.inputPlane)
            for oh in 0..<outH {
                let h0 = oh &* g.strideHeight &- g.paddingHeight
                let hLo = Swift.max(h0, 0), hHi = Swift.min(h0 &+ g.kernelHeight, g.height)
                for ow in 0..<outW {
                    let w0 = ow &* g.strideWidth &- g.paddingWidth
                    let wLo = Swift.max(w0, 0), wHi = Swift.min(w0 &+ g.kernelWidth, g.width)
                    let share = gy[oh &* outW &+ ow] * scale
                    for h in hLo..<hHi {
                        for w in wLo..<wHi { gx[h &* g.width &+ w] += share }
                    }
                }
            }
        }
    }
}
