package plugins

import "errors"

// ErrTaskNotFound is returned for a task id the driver does not track. Its
// text matches Nomad's own drivers so that operators recognise it.
var ErrTaskNotFound = errors.New("task not found for given id")

// RecoverableError marks a StartTask error that Nomad's restart policy may
// retry, such as a failed image pull.
type RecoverableError struct{ Err error }

func (e *RecoverableError) Error() string { return e.Err.Error() }
func (e *RecoverableError) Unwrap() error { return e.Err }

// Recoverable wraps err so that Nomad retries the start.
func Recoverable(err error) error {
	if err == nil {
		return nil
	}
	return &RecoverableError{Err: err}
}
