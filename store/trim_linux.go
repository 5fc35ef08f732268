package store

import (
	"os"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// trimMapping drops the page-table entries of the file's data in bbolt's
// mapping with madvise(MADV_DONTNEED). The mapping is MAP_SHARED and
// PROT_READ, so this loses nothing: the pages stay in the page cache, and
// the next access to one (by any goroutine, in any transaction) maps it
// again with the same bytes, a minor fault without I/O. tx must be an open
// write transaction, which keeps bbolt from remapping meanwhile. The range
// is the data tx sees (tx.Size()), never beyond the mapping.
func trimMapping(db *bolt.DB, tx *bolt.Tx) error {
	size := tx.Size()
	if size <= 0 {
		return nil
	}
	// The mapping is not Go memory, so its address can go to the system
	// call as a plain uintptr (unix.Madvise would need a []byte made from
	// it with unsafe).
	_, _, errno := unix.Syscall(unix.SYS_MADVISE, db.Info().Data, uintptr(size), unix.MADV_DONTNEED)
	if errno != 0 {
		return &os.SyscallError{Syscall: "madvise", Err: errno}
	}
	return nil
}
