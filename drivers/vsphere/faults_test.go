package vsphere

import (
	"errors"
	"strings"
	"testing"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/types"
)

func TestDescribeFault(t *testing.T) {
	cause := &types.LocalizedMethodFault{
		Fault:            &types.InvalidArgument{InvalidProperty: "guestinfo.x"},
		LocalizedMessage: "A specified parameter was not correct: guestinfo.x",
	}
	missing := &types.MissingPowerOnConfiguration{}
	missing.FaultCause = cause
	missing.FaultMessage = []types.LocalizableMessage{{Key: "msg.poweron", Message: "Invalid configuration for device '0'."}}
	taskErr := task.Error{LocalizedMethodFault: &types.LocalizedMethodFault{Fault: missing}}

	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"task fault with cause", taskErr, []string{
			"MissingPowerOnConfiguration: Invalid configuration for device '0'.",
			"caused by InvalidArgument: A specified parameter was not correct: guestinfo.x",
		}},
		{"plain error", errors.New("boom"), []string{"boom"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := describeFault(tt.err)
			for _, want := range tt.want {
				if !strings.Contains(got.Error(), want) {
					t.Errorf("error = %q, want it to contain %q", got, want)
				}
			}
			if strings.Contains(got.Error(), "*types.") {
				t.Errorf("error = %q, want no Go type names", got)
			}
		})
	}

	if !fault.Is(describeFault(taskErr), &types.MissingPowerOnConfiguration{}) {
		t.Error("described fault no longer matches fault.Is")
	}
	if describeFault(nil) != nil {
		t.Error("describeFault(nil) != nil")
	}
}
