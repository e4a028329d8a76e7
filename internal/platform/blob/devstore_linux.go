package blob

import (
	"os/exec"
	"syscall"
)

// dieWithParent has Linux stop MinIO if the process that started it dies
// without stopping it (a test binary killed by its timeout).
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
