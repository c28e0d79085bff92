package config

import (
	"testing"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// A problem found outside the config (a missing column, say) is placed at
// its key's line, or at the nearest written ancestor's when the key is left
// to its default.
func TestErrorAtPlacesKeysAndDefaults(t *testing.T) {
	c, err := parseFile(t, base, stdEnv)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"objects[0].fields.email":                "syncd.yaml:21: objects[0].fields.email: gone",
		"objects[0].external_id.column":          "syncd.yaml:15: objects[0].external_id.column: gone",
		"objects[0].deletes.soft_delete_column":  "syncd.yaml:12: objects[0].deletes.soft_delete_column: gone",
		"database":                               "syncd.yaml:8: database: gone",
		"objects[0].fields.email.no_such_subkey": "syncd.yaml:21: objects[0].fields.email.no_such_subkey: gone",
	} {
		if got := c.ErrorAt(key, "gone").Error(); got != want {
			t.Errorf("ErrorAt(%q) = %q, want %q", key, got, want)
		}
	}
	hand := Default()
	if got := hand.ErrorAt("database", "is %s", "missing").Error(); got != "database: is missing" {
		t.Errorf("hand-built config: %q", got)
	}
}

func TestSuggestAmongMixedCaseNames(t *testing.T) {
	fields := []string{"FirstName", "LastName", "Email", "MailingCity", "Syncd_Id__c"}
	for in, want := range map[string]string{
		"Emial": "Email", "firstname": "FirstName", "First_Name": "FirstName", "MailingCty": "MailingCity",
		"SyncdId__c": "Syncd_Id__c", "Birthdate": "",
	} {
		if got := Suggest(in, fields); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestObjectMapping(t *testing.T) {
	c, err := parseFile(t, base, stdEnv)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Objects[0].Mapping()
	if m.Object != "Contact" || m.Table != "customers" || m.Key != "id" || m.ExternalIDField != "Syncd_Id__c" ||
		m.ExternalIDColumn != "sync_id" || m.FromSalesforce != syncd.SoftDelete || m.SoftDeleteColumn != "deleted_at" {
		t.Errorf("mapping = %+v", m)
	}
	if f := m.Fields[len(m.Fields)-1]; len(m.Fields) != 4 || f.Column != "phone" || f.Name != "Phone" || f.Direction != syncd.Pull || !f.Writable {
		t.Errorf("fields = %+v", m.Fields)
	}
}
