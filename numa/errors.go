package numa

import "errors"

// UnsupportedFeatureError says a placement primitive is missing from the
// running kernel or platform. It matches errors.ErrUnsupported.
type UnsupportedFeatureError struct {
	Feature   string
	MinKernel string // e.g. "2.6.7"; "" when not a kernel-version question
	Reason    string
}

func (e *UnsupportedFeatureError) Error() string {
	s := "numa: " + e.Feature + " not supported"
	if e.MinKernel != "" {
		s += " (requires Linux " + e.MinKernel + " with CONFIG_NUMA)"
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Is makes errors.Is(err, errors.ErrUnsupported) true.
func (e *UnsupportedFeatureError) Is(target error) bool { return target == errors.ErrUnsupported }
