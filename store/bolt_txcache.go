package store

// keyCache remembers, for one write transaction, the index keys of the
// complaints and customers it has read or written, as they are stored at
// that moment. A put needs the old version's keys to replace them; with
// the cache it does not decode the stored record again when the same
// transaction already saw it (a new complaint is put twice while it is
// routed, a customer up to three times).
//
// Invariant: an entry equals what decoding the stored value would give.
// It is set only after a record was decoded or fully written, and dropped
// when a put fails half-way; the cache dies with its transaction.
type keyCache struct {
	complaints map[uint64]complaintKeys
	customers  map[uint64][]indexEntry
	// reserved holds the IDs ReserveComplaint gave out in this
	// transaction that PutComplaint has not written yet.
	reserved map[uint64]bool
	// notifications: the index entries of outbox rows (the notifier reads
	// a row, then puts it back with its outcome).
	notifications map[uint64][]indexEntry
}

// complaintKeys is what PutComplaint needs of a stored complaint.
type complaintKeys struct {
	number string
	index  []indexEntry
	owner  string // loadOwner of the stored version
}

func keysOfComplaint(c *Complaint) complaintKeys {
	return complaintKeys{number: c.Number, index: complaintIndex(c), owner: loadOwner(c)}
}

// remember sets m[id] = v, making the map on first use (a keyCache starts
// empty, and most transactions touch one or two of its maps).
func remember[V any](m *map[uint64]V, id uint64, v V) {
	if *m == nil {
		*m = make(map[uint64]V)
	}
	(*m)[id] = v
}
