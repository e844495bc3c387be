import CFluxShims

/// Process-wide settings made once at start.
public enum ProcessTuning {
    /// Files and documents of a few hundred KB are read and freed over and over; above glibc's
    /// default 128 KiB threshold each one is a fresh mmap whose pages fault in again (a third of
    /// `validate`'s time on the UBL examples). Keep them in the heap instead; what the heap keeps
    /// is bounded by the largest file allowed.
    public static func tuneAllocator() {
        _ = flux_tune_malloc(32 << 20, 64 << 20)
    }
}
