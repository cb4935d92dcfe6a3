import Backprop
import Foundation

// The examples' command-line options (a strict parser and the limits of the common ones)
// and loading MNIST for them.

/// A small command-line parser for the examples: `--name value` and `--flag`.
///
/// Declare every option (each call returns its value, or the default), then call
/// `finish()`, which prints usage for `--help` and rejects unknown options and bad
/// values with a message naming them.
public final class Options {
    private let program: String
    private let summary: String
    private var given: [String: String] = [:]
    private var flags: Set<String> = []
    private var usage: [(option: String, help: String)] = []
    private var known: Set<String> = ["help"]
    private var errors: [String] = []
    private var positional: [String] = []
    private var acceptsPositional = false

    /// `booleanFlags` names the options that never take a value (so `--tied mlp` leaves `mlp` positional).
    public init(
        _ program: String, _ summary: String, booleanFlags: Set<String> = [],
        arguments: [String] = Array(CommandLine.arguments.dropFirst())
    ) {
        self.program = program
        self.summary = summary
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            guard arg.hasPrefix("--") else { positional.append(arg); i += 1; continue }
            var name = String(arg.dropFirst(2))
            if let eq = name.firstIndex(of: "=") {
                given[String(name[..<eq])] = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            } else if i + 1 < arguments.count && !arguments[i + 1].hasPrefix("--") && !booleanFlags.contains(name) {
                given[name] = arguments[i + 1]
                i += 1
            } else {
                flags.insert(name)
            }
            i += 1
        }
    }

    private func value<T>(_ name: String, _ defaultValue: T, _ help: String, kind: String, _ parse: (String) -> T?) -> T {
        known.insert(name)
        usage.append(("  --\(name) \(kind)", "\(help) (default: \(defaultValue))"))
        if flags.contains(name) { errors.append("--\(name) needs a value (\(kind))"); return defaultValue }
        guard let text = given[name] else { return defaultValue }
        guard let v = parse(text) else { errors.append("--\(name) expects \(kind), got '\(text)'"); return defaultValue }
        return v
    }

    /// An integer option; with `range`, values outside it are rejected (naming the option,
    /// and the default is returned so that the program can go on to `finish()`).
    public func int(_ name: String, _ defaultValue: Int, _ help: String, range: ClosedRange<Int>? = nil) -> Int {
        let v = value(name, defaultValue, help, kind: "an integer") { Int($0.trimmingCharacters(in: .whitespaces)) }
        if let range, !range.contains(v) {
            errors.append("--\(name) must be in \(range.lowerBound)...\(range.upperBound), got \(v)")
            return defaultValue // (so later size arithmetic cannot overflow)
        }
        return v
    }
    /// A finite number (`inf` and `nan` are rejected); with `range`, also within it.
    public func double(_ name: String, _ defaultValue: Double, _ help: String, range: ClosedRange<Double>? = nil) -> Double {
        let v = value(name, defaultValue, help, kind: "a finite number") { text in
            Double(text.trimmingCharacters(in: .whitespaces)).flatMap { $0.isFinite ? $0 : nil }
        }
        if let range, !range.contains(v) {
            errors.append("--\(name) must be in \(range.lowerBound)...\(range.upperBound), got \(v)")
            return defaultValue
        }
        return v
    }
    public func string(_ name: String, _ defaultValue: String, _ help: String) -> String {
        value(name, defaultValue, help, kind: "a string") { $0 }
    }
    /// A path (or other text) that may be absent; an empty value is rejected.
    public func optionalString(_ name: String, _ help: String) -> String? {
        let v = value(name, nil as String?, help, kind: "a path") { Optional($0) }
        if v?.isEmpty == true { errors.append("--\(name) needs a non-empty value (got '')"); return nil }
        return v
    }
    /// A comma-separated list of integers, e.g. `--hidden 1024,1024`. Empty items
    /// (`32,,10`, a trailing comma) are rejected; with `range`, so is every item outside it.
    public func ints(_ name: String, _ defaultValue: [Int], _ help: String, range: ClosedRange<Int>? = nil) -> [Int] {
        let v = value(name, defaultValue, help, kind: "integers a,b,…") { text in
            let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if let position = items.firstIndex(where: \.isEmpty) {
                errors.append("--\(name) '\(text)': item \(position + 1) is empty (write the sizes as a,b,…)")
                return defaultValue
            }
            let parts = items.map { Int($0) }
            return parts.contains(nil) ? nil : parts.map { $0! }
        }
        if let range, let bad = v.first(where: { !range.contains($0) }) {
            errors.append("--\(name): every size must be in \(range.lowerBound)...\(range.upperBound), got \(bad)")
            return defaultValue
        }
        return v
    }
    /// `--seed N`: a seed in 0...2⁶³−1 (negative seeds are rejected), as the generators take it.
    public func seed(_ defaultValue: UInt64 = 1, _ help: String) -> UInt64 {
        let v = int("seed", Int(defaultValue), help)
        if v < 0 { errors.append("--seed must be a non-negative integer, got \(v)"); return defaultValue }
        return UInt64(v)
    }
    public func flag(_ name: String, _ help: String) -> Bool {
        known.insert(name)
        usage.append(("  --\(name)", help))
        if let v = given[name] { errors.append("--\(name) is a flag and takes no value (got '\(v)')") }
        return flags.contains(name)
    }

    /// The arguments that are not options (e.g. workload names); without this call they are errors.
    public func arguments(_ name: String, _ help: String) -> [String] {
        acceptsPositional = true
        usage.insert(("  [\(name)...]", help), at: 0)
        return positional
    }

    /// Checks that a parsed value satisfies `condition`, else reports `message`.
    public func require(_ condition: Bool, _ message: String) {
        if !condition { errors.append(message) }
    }

    /// Everything wrong with the command line so far, unknown options and stray
    /// arguments included, one message each (what `finish()` prints). For tests.
    public var problems: [String] {
        var all = errors
        for name in Set(given.keys).union(flags).sorted() where !known.contains(name) {
            all.append("unknown option --\(name)")
        }
        if !acceptsPositional {
            for arg in positional { all.append("unexpected argument '\(arg)'") }
        }
        return all
    }

    /// The usage lines in two columns: the help text starts in one column for all options
    /// (wide enough for most of them); an option longer than that gets its help on the next line.
    static func columns(_ lines: [(option: String, help: String)]) -> String {
        let width = min(34, (lines.map(\.option.count).max() ?? 0) + 2)
        return lines.map { line in
            line.option.count + 2 <= width
                ? line.option.padding(toLength: width, withPad: " ", startingAt: 0) + line.help
                : line.option + "\n" + String(repeating: " ", count: width) + line.help
        }.joined(separator: "\n")
    }

    /// Handles `--help`, unknown options and bad values; exits (status 2) on any of them.
    public func finish() {
        let errors = problems
        if flags.contains("help") {
            print("\(program): \(summary)\n\nOptions:\n" + Options.columns(usage))
            exit(0)
        }
        if !errors.isEmpty {
            FileHandle.standardError.write(
                ("\(program): " + errors.joined(separator: "\n\(program): ") + "\nRun with --help for the options.\n").data(using: .utf8)!)
            exit(2)
        }
    }
}

/// Prints `message` to standard error and exits with status 1.
public func fail(_ message: String) -> Never {
    fflush(nil) // what was printed so far comes first
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
    exit(1)
}

/// Loads MNIST from `directory` (see `locateMNIST`), exiting with the file and the
/// problem on any error, or if a split is empty or its images have no pixels.
public func loadMNIST<Scalar>(_ directory: String, layout: MNIST<Scalar>.Layout = .flat) -> MNIST<Scalar> {
    // the library refuses empty splits, pixel-less images and out-of-range labels, naming the file
    do { return try MNIST<Scalar>(directory: directory, layout: layout) } catch { fail("\(programName): \(error)") }
}

/// MNIST from `--data` (see `locateMNIST`) as 784 values per digit, for the autoencoders:
/// exits unless the images are 28×28, and prints how many there are.
public func loadMNISTDigits(_ dataOption: String?) -> MNIST<Float> {
    let mnist: MNIST<Float> = loadMNIST(locateMNIST(dataOption))
    guard mnist.test.images.shape[1] == 784 else {
        fail("error: this example expects 28×28 digits (784 values), the data has \(mnist.test.images.shape[1])")
    }
    print("MNIST: \(mnist.train.count) training and \(mnist.test.count) test images")
    return mnist
}

/// The height and width of `pixels`-pixel images when they are square, else nil
/// (the figures of flattened images need a shape).
public func squareImageShape(pixels: Int) -> (height: Int, width: Int)? {
    let side = Int(Double(pixels).squareRoot().rounded())
    return side > 0 && side * side == pixels ? (side, side) : nil
}

extension Options {
    /// `--schedule constant|cosine|step:EVERY:GAMMA`: how the learning rate changes with the epoch.
    public func schedule(_ defaultValue: String, epochs: Int) -> LearningRateSchedule {
        let text = string("schedule", defaultValue, "learning-rate schedule: constant, cosine (to 0 over the epochs), step:EVERY:GAMMA")
        let parts = text.split(separator: ":").map(String.init)
        switch parts.first {
        case "constant" where parts.count == 1: return .constant
        case "cosine" where parts.count == 1: return .cosine(epochs: epochs, minimum: 0)
        case "step" where parts.count == 3:
            if let every = Int(parts[1]), let gamma = Double(parts[2]), every > 0, gamma > 0, gamma.isFinite {
                return .step(every: every, gamma: gamma)
            }
        default: break
        }
        require(false, "--schedule expects constant, cosine or step:EVERY:GAMMA (e.g. step:3:0.1), got '\(text)'")
        return .constant
    }
}

/// Limits on what the examples allocate, so that a typo (`--hidden 100000000000`) is an
/// error message instead of a crash or an hour of swapping.
public enum Limits {
    /// Most parameters a model may have: 2²⁹ (2 GiB of Float weights, about 6 GiB with
    /// gradients and Adam's moments).
    public static let parameters = 1 << 29
    /// Most values one batch's activations of one layer may hold (2 GiB of Float).
    public static let activations = 1 << 29
    /// Bounds for the usual options.
    public static let layerSize = 1...(1 << 20)
    public static let batchSize = 1...(1 << 16)
    public static let epochs = 1...1_000_000
    public static let steps = 1...(1 << 32)
    public static let threads = 1...1024
}

extension Options {
    /// Rejects a model of `count` parameters over `Limits.parameters`, naming `option`
    /// (e.g. "--hidden") and the size in GiB. `count` is a Double so that it cannot overflow.
    public func requireParameterCount(_ count: Double, _ option: String) {
        require(
            count <= Double(Limits.parameters),
            String(
                format: "%@ asks for a model of %.3g parameters (%.1f GiB of weights); the limit is %d (2 GiB)",
                option, count, count * 4 / Double(1 << 30), Limits.parameters))
    }

    /// Rejects a batch whose activations (`batch` × `width` values in one layer) exceed
    /// `Limits.activations`, naming the options.
    public func requireActivations(batch: Int, width: Int, _ options: String) {
        let count = Double(batch) * Double(width)
        require(
            count <= Double(Limits.activations),
            String(
                format: "%@: one layer's activations for a batch would hold %.3g values (%.1f GiB); the limit is %d",
                options, count, count * 4 / Double(1 << 30), Limits.activations))
    }

    /// `--threads N`: declared the same way by every program (1…1024, default `Threads.count`).
    public func threads(_ defaultValue: Int = Threads.count) -> Int {
        int("threads", defaultValue, "threads for the library (GEMMs and parallel loops)", range: Limits.threads)
    }
}
