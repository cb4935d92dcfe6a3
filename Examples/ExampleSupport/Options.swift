import Backprop
import Foundation

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
    private var usage: [String] = []
    private var known: Set<String> = ["help"]
    private var errors: [String] = []
    private var positional: [String] = []
    private var acceptsPositional = false

    /// `booleanFlags` names the options that never take a value (so `--tied mlp` leaves `mlp` positional).
    public init(_ program: String, _ summary: String, booleanFlags: Set<String> = [],
                arguments: [String] = Array(CommandLine.arguments.dropFirst())) {
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
        usage.append("  --\(name) \(kind)".padding(toLength: 26, withPad: " ", startingAt: 0) + "\(help) (default: \(defaultValue))")
        if flags.contains(name) { errors.append("--\(name) needs a value (\(kind))"); return defaultValue }
        guard let text = given[name] else { return defaultValue }
        guard let v = parse(text) else { errors.append("--\(name) expects \(kind), got '\(text)'"); return defaultValue }
        return v
    }

    public func int(_ name: String, _ defaultValue: Int, _ help: String) -> Int {
        value(name, defaultValue, help, kind: "an integer") { Int($0) }
    }
    public func double(_ name: String, _ defaultValue: Double, _ help: String) -> Double {
        value(name, defaultValue, help, kind: "a number") { Double($0) }
    }
    public func string(_ name: String, _ defaultValue: String, _ help: String) -> String {
        value(name, defaultValue, help, kind: "a string") { $0 }
    }
    public func optionalString(_ name: String, _ help: String) -> String? {
        value(name, nil as String?, help, kind: "a path") { Optional($0) }
    }
    /// A comma-separated list of integers, e.g. `--hidden 1024,1024`.
    public func ints(_ name: String, _ defaultValue: [Int], _ help: String) -> [Int] {
        value(name, defaultValue, help, kind: "integers a,b,…") { text in
            let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            return parts.contains(nil) || parts.isEmpty ? nil : parts.map { $0! }
        }
    }
    public func flag(_ name: String, _ help: String) -> Bool {
        known.insert(name)
        usage.append("  --\(name)".padding(toLength: 26, withPad: " ", startingAt: 0) + help)
        if let v = given[name] { errors.append("--\(name) is a flag and takes no value (got '\(v)')") }
        return flags.contains(name)
    }

    /// The arguments that are not options (e.g. workload names); without this call they are errors.
    public func arguments(_ name: String, _ help: String) -> [String] {
        acceptsPositional = true
        usage.insert("  [\(name)...]".padding(toLength: 26, withPad: " ", startingAt: 0) + help, at: 0)
        return positional
    }

    /// Checks that a parsed value satisfies `condition`, else reports `message`.
    public func require(_ condition: Bool, _ message: String) {
        if !condition { errors.append(message) }
    }

    /// Handles `--help`, unknown options and bad values; exits on any of them.
    public func finish() {
        for name in Set(given.keys).union(flags) where !known.contains(name) {
            errors.append("unknown option --\(name)")
        }
        if !acceptsPositional {
            for arg in positional { errors.append("unexpected argument '\(arg)'") }
        }
        if flags.contains("help") {
            print("\(program): \(summary)\n\nOptions:\n" + usage.joined(separator: "\n"))
            exit(0)
        }
        if !errors.isEmpty {
            FileHandle.standardError.write(("\(program): " + errors.joined(separator: "\n\(program): ") + "\nRun with --help for the options.\n").data(using: .utf8)!)
            exit(2)
        }
    }
}

/// Prints `message` to standard error and exits with status 1.
public func fail(_ message: String) -> Never {
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
    exit(1)
}

/// Where MNIST is: `--data DIR`, else `$MNIST_DIR`, else `./Data/mnist`. Exits with
/// instructions when none of them holds the four files.
public func locateMNIST(_ option: String?) -> String {
    let env = ProcessInfo.processInfo.environment["MNIST_DIR"]
    let candidates = [option, env, "Data/mnist"].compactMap { $0 }
    if let found = candidates.first(where: { MNIST<Float>.isPresent(in: $0) }) { return found }
    fail("""
        MNIST was not found (looked in: \(candidates.joined(separator: ", "))).
        Get it with:   Scripts/download-mnist.sh            (downloads into Data/mnist)
        or point to a copy:  --data DIR  or  MNIST_DIR=DIR
        """)
}

/// Loads MNIST from `directory`, exiting with the file and the problem on any error.
public func loadMNIST<Scalar>(_ directory: String, layout: MNIST<Scalar>.Layout = .flat) -> MNIST<Scalar> {
    do { return try MNIST<Scalar>(directory: directory, layout: layout) } catch { fail("error: \(error)") }
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
            if let every = Int(parts[1]), let gamma = Double(parts[2]), every > 0, gamma > 0 { return .step(every: every, gamma: gamma) }
        default: break
        }
        require(false, "--schedule expects constant, cosine or step:EVERY:GAMMA (e.g. step:3:0.1), got '\(text)'")
        return .constant
    }
}
