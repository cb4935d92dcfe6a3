// Saving and loading a model's parameters by name, as PyTorch's state_dict does.
//
//   try model.save(to: "mlp.safetensors")        // names "0.weight", "0.bias", "2.weight", ...
//   try model.load(from: "mlp.safetensors")      // every name must match, with its shape
//
// The names and layouts are PyTorch's, so the same file loads into the equivalent
// torch.nn module with `load_state_dict(safetensors.torch.load_file(path))`.

extension Layer {
    /// The parameters by name, as a PyTorch `state_dict` lists them (copies of the values).
    public var stateDict: [(name: String, value: Tensor<Scalar>)] {
        namedParameters.map { ($0.name, $0.parameter.value) }
    }

    /// Writes every parameter to a safetensors file under its `namedParameters` name,
    /// atomically. `dtype` is F32 or F64 (default: the model's own type, nothing rounded).
    /// The metadata gets `"format": "pt"` (the tag PyTorch files carry) unless given.
    public func save(to path: String, as dtype: SafeTensors.DType? = nil, metadata: [String: String] = [:]) throws {
        var file = SafeTensors(metadata: ["format": "pt"].merging(metadata) { $1 })
        addParameters(to: &file, as: dtype)
        try file.write(to: path)
    }

    /// Adds every parameter to `file` under `prefix` + its name.
    public func addParameters(to file: inout SafeTensors, prefix: String = "", as dtype: SafeTensors.DType? = nil) {
        for (name, parameter) in namedParameters { file.add(prefix + name, parameter.value, as: dtype) }
    }

    /// Loads every parameter from a safetensors file by name, converting F32/F64/F16/BF16
    /// to the model's type. A training checkpoint (`Checkpoint.save`) works too: its
    /// model tensors are read. Throws `StateDictError`, listing every name that is
    /// missing, unexpected or of the wrong shape, and then changes nothing.
    public func load(from path: String) throws {
        try load(from: SafeTensors(contentsOf: path))
    }

    /// Loads every parameter from `file`: the tensors named `prefix` + a parameter name
    /// (`prefix` defaults to `Checkpoint.modelPrefix` for a training checkpoint, else "").
    /// Tensors outside the prefix are ignored; inside it, every name must be a parameter.
    public func load(from file: SafeTensors, prefix: String? = nil) throws {
        let assignments = try matchParameters(in: file, prefix: prefix ?? Checkpoint.modelPrefix(of: file))
        for (parameter, value) in assignments { parameter.value = value }
    }

    /// Checks `file` against the parameters and returns each parameter with its new value,
    /// without changing anything (so a failed load leaves the model as it was).
    func matchParameters(in file: SafeTensors, prefix: String) throws -> [(Parameter<Scalar>, Tensor<Scalar>)] {
        let named = namedParameters
        let expected = Set(named.map(\.name))
        var error = StateDictError(source: file.source)
        var result: [(Parameter<Scalar>, Tensor<Scalar>)] = []
        for (name, parameter) in named {
            guard let entry = file[prefix + name] else {
                error.missing.append((prefix + name, parameter.value.shape))
                continue
            }
            if entry.shape != parameter.value.shape {
                error.mismatched.append((prefix + name, parameter.value.shape, entry.shape))
            } else if !entry.dtype.isConvertible {
                error.unconvertible.append((prefix + name, entry.dtype.rawValue))
            } else {
                result.append((parameter, try file.tensor(prefix + name)))
            }
        }
        for name in file.names where name.hasPrefix(prefix) && !expected.contains(String(name.dropFirst(prefix.count))) {
            error.unexpected.append((name, file[name]!.shape))
        }
        if !error.isEmpty { throw error }
        return result
    }
}

/// A state dict that does not fit a model: names the model has and the file lacks,
/// names the file has and the model lacks, and shapes that differ (both shown).
public struct StateDictError: Error, CustomStringConvertible {
    /// The file that was loaded.
    public let source: String
    /// Parameters of the model absent from the file, with the model's shape.
    public var missing: [(name: String, shape: [Int])] = []
    /// Tensors of the file that are not parameters of the model, with the file's shape.
    public var unexpected: [(name: String, shape: [Int])] = []
    /// Names present in both with different shapes.
    public var mismatched: [(name: String, modelShape: [Int], fileShape: [Int])] = []
    /// Tensors stored with a dtype that is not floating point.
    public var unconvertible: [(name: String, dtype: String)] = []

    public init(source: String) { self.source = source }

    var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty && mismatched.isEmpty && unconvertible.isEmpty }

    /// Every offending name, in the order missing, unexpected, mismatched, unconvertible.
    public var offendingNames: [String] {
        missing.map(\.name) + unexpected.map(\.name) + mismatched.map(\.name) + unconvertible.map(\.name)
    }

    public var description: String {
        var lines = ["\(source) does not fit the model:"]
        for m in missing { lines.append("  missing from the file: \(m.name) (model shape \(m.shape))") }
        for u in unexpected { lines.append("  unexpected in the file: \(u.name) (file shape \(u.shape))") }
        for m in mismatched { lines.append("  shape mismatch: \(m.name): model \(m.modelShape), file \(m.fileShape)") }
        for u in unconvertible { lines.append("  not floating point: \(u.name) is \(u.dtype)") }
        return lines.joined(separator: "\n")
    }
}
