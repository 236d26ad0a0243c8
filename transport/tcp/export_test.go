package tcp

// FixedPartial makes cfg's FixedRecv read as soon as anything has arrived
// rather than once the message is whole (for BenchmarkSMBClientWrite).
func FixedPartial(cfg URingConfig) URingConfig {
	cfg.fixedPartial = true
	return cfg
}
