package vsphere

import (
	"fmt"
	"strings"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/vim25/types"
)

// faultError is a vSphere fault with its message and its causes in the
// text. It unwraps to the original error, so fault.Is still matches.
type faultError struct {
	err  error
	text string
}

func (e *faultError) Error() string { return e.text }
func (e *faultError) Unwrap() error { return e.err }

// describeFault rewrites err, such as a failed task's task.Error, to name
// each fault in its chain with its localized message and fault messages.
// vCenter often leaves a task's localized message empty, and then the
// error alone shows only the fault's Go type. Errors without a fault are
// returned unchanged.
func describeFault(err error) error {
	if err == nil {
		return nil
	}
	var parts []string
	fault.In(err, func(f types.BaseMethodFault, message string, messages []types.LocalizableMessage) bool {
		parts = append(parts, faultText(f, message, messages))
		return false
	})
	if len(parts) == 0 {
		return err
	}
	return &faultError{err: err, text: strings.Join(parts, ", caused by ")}
}

func faultText(f types.BaseMethodFault, message string, messages []types.LocalizableMessage) string {
	name := strings.TrimPrefix(fmt.Sprintf("%T", f), "*types.")
	details := []string{}
	if message != "" {
		details = append(details, message)
	}
	for _, m := range messages {
		if m.Message != "" {
			details = append(details, m.Message)
		} else if m.Key != "" {
			details = append(details, m.Key)
		}
	}
	if len(details) == 0 {
		return name
	}
	return name + ": " + strings.Join(details, "; ")
}
