//go:build !linux

package store

import bolt "go.etcd.io/bbolt"

// trimMapping does nothing off Linux, where the trim is not implemented.
func trimMapping(*bolt.DB, *bolt.Tx) error { return nil }
