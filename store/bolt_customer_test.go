package store

import (
	"context"
	"errors"
	"testing"
)

func TestCustomerIndexes(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	var ona Customer
	update(t, s, func(tx Tx) error {
		ona = Customer{Name: "Ona", Emails: []string{" Ona@Example.LT "}, TelegramIDs: []int64{-100123}}
		return tx.PutCustomer(&ona)
	})
	if ona.ID != 1 || ona.CreatedAt.IsZero() || ona.Emails[0] != "ona@example.lt" {
		t.Fatalf("created customer = %+v", ona)
	}
	lookups := []struct {
		name string
		get  func(Tx) (*Customer, error)
	}{
		{"by id", func(tx Tx) (*Customer, error) { return tx.Customer(ona.ID) }},
		{"by email same case", func(tx Tx) (*Customer, error) { return tx.CustomerByEmail("ona@example.lt") }},
		{"by email other case", func(tx Tx) (*Customer, error) { return tx.CustomerByEmail("ONA@example.LT") }},
		{"by telegram", func(tx Tx) (*Customer, error) { return tx.CustomerByTelegram(-100123) }},
	}
	for _, l := range lookups {
		t.Run(l.name, func(t *testing.T) {
			view(t, s, func(tx Tx) error {
				got, err := l.get(tx)
				if err != nil || got.ID != ona.ID || got.Name != "Ona" {
					t.Errorf("got %+v, %v", got, err)
				}
				return nil
			})
		})
	}

	// Changing the address moves the index; the old one finds nobody.
	update(t, s, func(tx Tx) error {
		c, err := tx.Customer(ona.ID)
		if err != nil {
			return err
		}
		c.Emails = []string{"ona@new.lt"}
		c.TelegramIDs = append(c.TelegramIDs, 7)
		return tx.PutCustomer(c)
	})
	view(t, s, func(tx Tx) error {
		if _, err := tx.CustomerByEmail("ona@example.lt"); !errors.Is(err, ErrNotFound) {
			t.Errorf("old email still found: %v", err)
		}
		for _, id := range []int64{-100123, 7} {
			if c, err := tx.CustomerByTelegram(id); err != nil || c.ID != ona.ID {
				t.Errorf("CustomerByTelegram(%d) = %v, %v", id, c, err)
			}
		}
		c, err := tx.CustomerByEmail("ona@new.lt")
		if err != nil || c.ID != ona.ID || !c.CreatedAt.Equal(ona.CreatedAt) {
			t.Errorf("new email = %+v, %v", c, err)
		}
		return nil
	})
}

// TestCustomerUniqueKeys: an address or Telegram user belongs to one
// customer; a put that would share it fails and changes nothing.
func TestCustomerUniqueKeys(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	update(t, s, func(tx Tx) error {
		must(t, tx.PutCustomer(&Customer{Emails: []string{"a@x"}, TelegramIDs: []int64{1}}))
		return tx.PutCustomer(&Customer{Emails: []string{"b@x"}})
	})
	tests := []struct {
		name string
		c    Customer
	}{
		{"new customer, taken email", Customer{Emails: []string{"A@X"}}},
		{"new customer, taken telegram", Customer{TelegramIDs: []int64{1}}},
		{"update takes another's email", Customer{ID: 2, Emails: []string{"b@x", "a@x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			err := s.Update(context.Background(), func(tx Tx) error { return tx.PutCustomer(&c) })
			if !errors.Is(err, ErrConflict) {
				t.Fatalf("PutCustomer = %v, want ErrConflict", err)
			}
			if c.ID != tt.c.ID {
				t.Errorf("ID changed to %d on conflict", c.ID)
			}
			view(t, s, func(tx Tx) error {
				if got, err := tx.CustomerByEmail("b@x"); err != nil || got.ID != 2 {
					t.Errorf("b@x = %v, %v", got, err)
				}
				if got, err := tx.CustomerByEmail("a@x"); err != nil || got.ID != 1 {
					t.Errorf("a@x = %v, %v", got, err)
				}
				return nil
			})
		})
	}
	// Re-putting a customer with its own keys is no conflict.
	update(t, s, func(tx Tx) error {
		c, err := tx.Customer(1)
		if err != nil {
			return err
		}
		c.Name = "renamed"
		return tx.PutCustomer(c)
	})
}

func TestReturnedRecordsAreCopies(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	update(t, s, func(tx Tx) error {
		c := &Customer{Name: "Jonas", Emails: []string{"j@x"}}
		must(t, tx.PutCustomer(c))
		c.Name = "changed after put"
		got, err := tx.Customer(c.ID)
		if err != nil {
			return err
		}
		got.Emails[0] = "changed@x"
		again, err := tx.Customer(c.ID)
		if err != nil {
			return err
		}
		if again.Name != "Jonas" || again.Emails[0] != "j@x" {
			t.Errorf("stored record changed through a returned copy: %+v", again)
		}
		return nil
	})
}
