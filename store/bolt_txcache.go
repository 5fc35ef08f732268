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

func (k *keyCache) notification(id uint64) ([]indexEntry, bool) {
	idx, ok := k.notifications[id]
	return idx, ok
}

func (k *keyCache) setNotification(id uint64, idx []indexEntry) {
	if k.notifications == nil {
		k.notifications = make(map[uint64][]indexEntry)
	}
	k.notifications[id] = idx
}

func (k *keyCache) reserve(id uint64) {
	if k.reserved == nil {
		k.reserved = make(map[uint64]bool)
	}
	k.reserved[id] = true
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

func (k *keyCache) complaint(id uint64) (complaintKeys, bool) {
	ck, ok := k.complaints[id]
	return ck, ok
}

func (k *keyCache) setComplaint(id uint64, ck complaintKeys) {
	if k.complaints == nil {
		k.complaints = make(map[uint64]complaintKeys)
	}
	k.complaints[id] = ck
}

func (k *keyCache) customer(id uint64) ([]indexEntry, bool) {
	idx, ok := k.customers[id]
	return idx, ok
}

func (k *keyCache) setCustomer(id uint64, idx []indexEntry) {
	if k.customers == nil {
		k.customers = make(map[uint64][]indexEntry)
	}
	k.customers[id] = idx
}
