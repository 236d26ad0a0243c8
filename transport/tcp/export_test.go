package tcp

// FixedPartial makes cfg's registered receive read as soon as anything has arrived
// rather than once the message is whole (for BenchmarkSMBClientWrite).
func FixedPartial(cfg URingConfig) URingConfig {
	cfg.fixedPartial = true
	return cfg
}

// FixedLowat sets cfg's registered receive low-water mark cap to n bytes; -1 waits
// for the whole message.
func FixedLowat(cfg URingConfig, n int) URingConfig {
	cfg.fixedLowat = n
	return cfg
}
