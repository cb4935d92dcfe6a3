/// The mask kernel of `Dropout`, a static requirement of the scalar type like the other loops.
public protocol DropoutKernels {
    /// mask[i] = `scale` with probability `keep`, else 0, one draw of `rng` per element.
    static func bernoulliMask(_ mask: UnsafeMutablePointer<Self>, _ n: Int, keep: Double, scale: Self,
                              using rng: inout Random)
}

extension DropoutKernels where Self: TensorScalar {
    public static func bernoulliMask(_ mask: UnsafeMutablePointer<Self>, _ n: Int, keep: Double, scale: Self,
                                     using rng: inout Random) {
        for i in 0..<n { mask[i] = rng.nextUnit() < keep ? scale : 0 }
    }
}
