import Backprop
import ExampleSupport

extension Workloads {
    /// Workloads whose modules live in other module families (convnet, lstm).
    static func extraWorkload(_ name: String, train: LabeledImages<Float>) -> Workload {
        fail("backprop-bench: workload '\(name)' needs modules this build does not have yet")
    }
}
