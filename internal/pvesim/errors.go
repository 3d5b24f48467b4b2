package pvesim

import (
	"fmt"
	"net/http"
)

// apiError is a failed API call as PVE reports it: the message goes into the
// status line and the body's "message", parameter errors into "errors".
type apiError struct {
	Code   int
	Msg    string
	Errors map[string]string
	noBody bool // proxy failures carry only the status line
}

func (e *apiError) Error() string { return e.Msg }

// fail is PVE's plain `die`: HTTP 500 with the message.
func fail(format string, a ...any) *apiError {
	return &apiError{Code: http.StatusInternalServerError, Msg: fmt.Sprintf(format, a...)}
}

// paramError is raise_param_exc: HTTP 400 with the per-parameter map.
func paramError(errs map[string]string) *apiError {
	return &apiError{Code: http.StatusBadRequest, Msg: "Parameter verification failed.", Errors: errs}
}

func paramErr(name, format string, a ...any) *apiError {
	return paramError(map[string]string{name: fmt.Sprintf(format, a...)})
}

func httpErr(code int, format string, a ...any) *apiError {
	return &apiError{Code: code, Msg: fmt.Sprintf(format, a...)}
}
