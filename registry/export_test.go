package registry_test

import (
	"errors"

	"credo"
)

func asErr(err error, e **credo.Error) bool { return errors.As(err, e) }
