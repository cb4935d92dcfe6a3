// Saving and loading a model's state by name, as PyTorch's state_dict does: its
// parameters and its buffers (non-trainable state such as a batch norm's running_mean,
// running_var and num_batches_tracked, the last stored as I64 as PyTorch does).
//
//   try model.save(to: "mlp.safetensors")        // names "0.weight", "0.bias", "1.running_mean", ...
//   try model.load(from: "mlp.safetensors")      // every name must match, with its shape
//
// The names and layouts are PyTorch's, so the same file loads into the equivalent
// torch.nn module with `load_state_dict(safetensors.torch.load_file(path))` (strict), and
// a file saved from PyTorch's state_dict loads here.

extension Layer {
    /// The parameters then the buffers by name, as a PyTorch `state_dict` lists them
    /// (copies of the values; a count buffer as a tensor holding a whole number).
    public var stateDict: [(name: String, value: Tensor<Scalar>)] {
        namedParameters.map { ($0.name, $0.parameter.value) } + namedBuffers.map { ($0.name, $0.buffer.value) }
    }

    /// Writes every parameter and buffer to a safetensors file under its name,
    /// atomically. `dtype` is F32 or F64 (default: the model's own type, nothing rounded);
    /// count buffers (`num_batches_tracked`) are always I64.
    /// The metadata gets `"format": "pt"` (the tag PyTorch files carry) unless given.
    public func save(to path: String, as dtype: SafeTensors.DType? = nil, metadata: [String: String] = [:]) throws {
        var file = SafeTensors(metadata: ["format": "pt"].merging(metadata) { $1 })
        addState(to: &file, as: dtype)
        try file.write(to: path)
    }

    /// Adds every parameter to `file` under `prefix` + its name (buffers: `addState`).
    public func addParameters(to file: inout SafeTensors, prefix: String = "", as dtype: SafeTensors.DType? = nil) {
        for (name, parameter) in namedParameters { file.add(prefix + name, parameter.value, as: dtype) }
    }

    /// Adds every parameter and every buffer to `file` under `prefix` + its name: what
    /// `save` writes and a checkpoint holds. Count buffers are stored as I64.
    public func addState(to file: inout SafeTensors, prefix: String = "", as dtype: SafeTensors.DType? = nil) {
        addParameters(to: &file, prefix: prefix, as: dtype)
        for (name, buffer) in namedBuffers {
            if buffer.isCount {
                file.add(prefix + name, int64: buffer.value.scalars.map { Int64(Double($0).rounded()) }, shape: buffer.value.shape)
            } else {
                file.add(prefix + name, buffer.value, as: dtype)
            }
        }
    }

    /// Loads every parameter and buffer from a safetensors file by name, converting
    /// F32/F64/F16/BF16 to the model's type (and integers, for a count buffer). A training
    /// checkpoint (`Checkpoint.save`) works too: its model tensors are read. Throws
    /// `StateDictError`, listing every name that is missing, unexpected or of the wrong
    /// shape, and then changes nothing.
    public func load(from path: String) throws {
        try load(from: SafeTensors(contentsOf: path))
    }

    /// Loads every parameter and buffer from `file`: the tensors named `prefix` + a name
    /// (`prefix` defaults to `Checkpoint.modelPrefix` for a training checkpoint, else "").
    /// Tensors outside the prefix are ignored; inside it, every name must be a parameter
    /// or a buffer of the model, and every parameter and buffer must be there.
    public func load(from file: SafeTensors, prefix: String? = nil) throws {
        try matchState(in: file, prefix: prefix ?? Checkpoint.modelPrefix(of: file)).apply()
    }

    /// Checks `file` against the parameters and buffers and returns each with its new
    /// value, without changing anything (so a failed load leaves the model as it was).
    func matchState(in file: SafeTensors, prefix: String) throws -> StateAssignments<Scalar> {
        let named = namedParameters, buffers = namedBuffers
        let expected = Set(named.map(\.name) + buffers.map(\.name))
        var error = StateDictError(source: file.source)
        var result = StateAssignments<Scalar>()

        /// The entry for `name` if present, of `shape` and of a dtype `accepts` takes; else
        /// the problem goes into `error`.
        func entry(_ name: String, shape: [Int], isBuffer: Bool, accepts: (SafeTensors.DType) -> Bool) -> SafeTensors.Entry? {
            if isBuffer { error.buffers.insert(prefix + name) }
            guard let entry = file[prefix + name] else {
                error.missing.append((prefix + name, shape))
                return nil
            }
            if entry.shape != shape {
                error.mismatched.append((prefix + name, shape, entry.shape))
                return nil
            }
            if !accepts(entry.dtype) {
                error.unconvertible.append((prefix + name, entry.dtype.rawValue))
                return nil
            }
            return entry
        }

        for (name, parameter) in named {
            if entry(name, shape: parameter.value.shape, isBuffer: false, accepts: \.isConvertible) != nil {
                result.parameters.append((parameter, try file.tensor(prefix + name)))
            }
        }
        for (name, buffer) in buffers {
            let accepts: (SafeTensors.DType) -> Bool = buffer.isCount ? { $0.isConvertible || $0.isInteger } : { $0.isConvertible }
            guard let found = entry(name, shape: buffer.value.shape, isBuffer: true, accepts: accepts) else { continue }
            if found.dtype.isInteger {
                let values = try file.integers(prefix + name)
                result.buffers.append((buffer, Tensor(shape: found.shape, scalars: values.map { Scalar(Double($0)) })))
            } else {
                result.buffers.append((buffer, try file.tensor(prefix + name)))
            }
        }
        for name in file.names where name.hasPrefix(prefix) && !expected.contains(String(name.dropFirst(prefix.count))) {
            error.unexpected.append((name, file[name]!.shape))
        }
        if !error.isEmpty { throw error }
        return result
    }
}

/// The new values of a model's parameters and buffers, checked against a file and not
/// yet applied (`Layer.matchState`).
struct StateAssignments<Scalar: TensorScalar> {
    var parameters: [(Parameter<Scalar>, Tensor<Scalar>)] = []
    var buffers: [(Buffer<Scalar>, Tensor<Scalar>)] = []

    /// Sets every value.
    func apply() {
        for (parameter, value) in parameters { parameter.value = value }
        for (buffer, value) in buffers { buffer.value = value }
    }
}

/// A state dict that does not fit a model: names (of parameters or buffers) the model has
/// and the file lacks, names the file has and the model lacks, shapes that differ (both
/// shown) and dtypes that do not convert. Buffers are marked as such in the description.
public struct StateDictError: Error, CustomStringConvertible {
    /// The file that was loaded.
    public let source: String
    /// Parameters and buffers of the model absent from the file, with the model's shape.
    public var missing: [(name: String, shape: [Int])] = []
    /// Tensors of the file that are neither parameters nor buffers of the model, with the file's shape.
    public var unexpected: [(name: String, shape: [Int])] = []
    /// Names present in both with different shapes.
    public var mismatched: [(name: String, modelShape: [Int], fileShape: [Int])] = []
    /// Tensors stored with a dtype that does not convert: not floating point (an integer
    /// type is accepted for a count buffer such as `num_batches_tracked`).
    public var unconvertible: [(name: String, dtype: String)] = []
    /// The names in this error (missing, mismatched, unconvertible) that are buffers of the
    /// model rather than parameters.
    public var buffers: Set<String> = []

    public init(source: String) { self.source = source }

    var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty && mismatched.isEmpty && unconvertible.isEmpty }

    /// Every offending name, in the order missing, unexpected, mismatched, unconvertible.
    public var offendingNames: [String] {
        missing.map(\.name) + unexpected.map(\.name) + mismatched.map(\.name) + unconvertible.map(\.name)
    }

    public var description: String {
        var lines = ["\(source) does not fit the model:"]
        func kind(_ name: String) -> String { buffers.contains(name) ? "buffer " : "" }
        for m in missing { lines.append("  missing from the file: \(kind(m.name))\(m.name) (model shape \(m.shape))") }
        for u in unexpected { lines.append("  unexpected in the file: \(u.name) (file shape \(u.shape))") }
        for m in mismatched { lines.append("  shape mismatch: \(kind(m.name))\(m.name): model \(m.modelShape), file \(m.fileShape)") }
        for u in unconvertible {
            lines.append(
                buffers.contains(u.name)
                    ? "  not a number type the buffer takes: \(u.name) is \(u.dtype)"
                    : "  not floating point: \(u.name) is \(u.dtype)")
        }
        return lines.joined(separator: "\n")
    }
}
