package linkshape

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// dataset is the N synced Contacts of one measurement, in the order a first
// pull delivers them (LastModifiedDate order). Row i (0-based) is inserted
// i-th and gets row key i+1, so row keys increase as they arrive, like the
// rowids the store numbers itself. Salesforce Ids are assigned in creation
// order, which is not modification order: the Ids arrive in a shuffled
// order, so every shape's Id index takes its inserts at random places.
type dataset struct {
	n     int
	sf18  []string // by row: the 18-character Id the REST API returns
	epoch time.Time
	seed  uint64
}

func newDataset(n int, seed uint64) *dataset {
	d := &dataset{n: n, sf18: make([]string, n), epoch: time.Date(2025, 3, 14, 9, 26, 53, 589e6, time.UTC), seed: seed}
	r := rand.New(rand.NewPCG(seed, 1))
	for i, k := range r.Perm(n) {
		// Ids of one org are increasing base-62 record numbers behind the
		// key prefix (003: Contact) and a pod prefix.
		d.sf18[i] = sfID18("003Dn0" + base62(uint64(k)*7919+1234567, 9))
	}
	return d
}

// key is row i's row key.
func (d *dataset) key(i int) int64 { return int64(i) + 1 }

// stampMS is row i's SystemModstamp in Unix milliseconds: the API's
// dateTime values go down to the millisecond (REST API Developer Guide,
// "Valid Date and DateTime Formats": yyyy-MM-ddTHH:mm:ss.SSSZ). gen > 0 is
// a later pull's newer stamp.
func (d *dataset) stampMS(i, gen int) int64 {
	return d.epoch.UnixMilli() + int64(i)*37 + int64(gen)*86400000
}

// stampText is stampMS as the store writes it today (RFC 3339, UTC).
func (d *dataset) stampText(i, gen int) string {
	return time.UnixMilli(d.stampMS(i, gen)).UTC().Format(time.RFC3339Nano)
}

// fp is the 64-bit fingerprint of row i's values after pull gen: a hash,
// so uniformly spread over all 64 bits.
func (d *dataset) fp(i, gen int) int64 { return int64(mix(d.seed ^ uint64(i)<<8 ^ uint64(gen))) }

// extID is row i's external id: a version 7 UUID, time-ordered as the
// store's trigger makes them.
func (d *dataset) extID(i int) string {
	ms := uint64(d.epoch.UnixMilli()) + uint64(i)/4
	r := mix(uint64(i) ^ d.seed)
	return fmt.Sprintf("%08x-%04x-7%03x-%04x-%012x", ms>>16, ms&0xffff, r&0xfff, 0x8000|(r>>12)&0x3fff, (r>>26)&0xffffffffffff)
}

var (
	firstNames  = []string{"Jane", "John", "María", "Wei", "Aisha", "Liam", "Olivia", "Noah", "Sofía", "Lukas", "Chloé", "Mateo", "Yuki", "Fatima", "Oliver", "Emma", "Arjun", "Zoe", "Hannah", "Pierre"}
	lastNames   = []string{"Smith", "García", "Müller", "Chen", "Okafor", "Johnson", "Rossi", "Novak", "Kowalski", "Dubois", "Tanaka", "Nguyen", "O'Brien", "Fernández", "Andersson", "Brown", "Patel", "Ivanova", "Schmidt", "Kim"}
	titles      = []string{"VP Sales", "Account Executive", "Head of Procurement", "CTO", "Office Manager", "Software Engineer", "Director of Operations", "CFO", "Marketing Lead", ""}
	departments = []string{"Sales", "Finance", "Engineering", "Operations", "Marketing", "Procurement", "IT", ""}
	cities      = []string{"San Francisco", "London", "Berlin", "São Paulo", "Tokyo", "Lagos", "Toronto", "Sydney", "Paris", "Mumbai"}
	countries   = []string{"United States", "United Kingdom", "Germany", "Brazil", "Japan", "Nigeria", "Canada", "Australia", "France", "India"}
)

// appRow is row i's mapped values, in customers.Wide's order: first_name,
// last_name, email, phone, title, department, city, country, birthdate,
// opted_out.
func (d *dataset) appRow(i int, dst []any) []any {
	r := mix(uint64(i) ^ d.seed<<1)
	pick := func(list []string, shift uint) string { return list[(r>>shift)%uint64(len(list))] }
	first, last := pick(firstNames, 0), pick(lastNames, 8)
	email := strings.ToLower(strings.ReplaceAll(first+"."+last, "'", "")) + strconv.Itoa(i) + "@example.com"
	phone := fmt.Sprintf("+1 (%03d) 555-%04d", 200+(r>>16)%800, (r>>28)%10000)
	birth := fmt.Sprintf("19%02d-%02d-%02d", 50+(r>>40)%50, 1+(r>>46)%12, 1+(r>>50)%28)
	return append(dst, first, last, email, phone, pick(titles, 20), pick(departments, 24), pick(cities, 32), pick(countries, 36), birth, int64(r>>56&1))
}

// shadow is row i's shadow as the store writes it today: a JSON object of
// the mapped fields and the external id, keyed by Salesforce field name in
// sorted order, each value type-tagged ("s" string, "b1"/"b0" boolean).
func (d *dataset) shadow(i, gen int) string {
	v := d.appRow(i, nil)
	title := v[4].(string)
	if gen > 0 {
		title = titles[(i+gen)%len(titles)] // a later pull changed a field
	}
	opted := "b0"
	if v[9].(int64) == 1 {
		opted = "b1"
	}
	var b strings.Builder
	b.WriteString("{")
	field := func(name, val string, last bool) {
		b.WriteString(strconv.Quote(name) + ":" + strconv.Quote(val))
		if !last {
			b.WriteString(",")
		}
	}
	field("Birthdate", "s"+v[8].(string), false)
	field("Department", "s"+v[5].(string), false)
	field("Email", "s"+v[2].(string), false)
	field("FirstName", "s"+v[0].(string), false)
	field("HasOptedOutOfEmail", opted, false)
	field("LastName", "s"+v[1].(string), false)
	field("MailingCity", "s"+v[6].(string), false)
	field("MailingCountry", "s"+v[7].(string), false)
	field("Phone", "s"+v[3].(string), false)
	field("Syncd_Id__c", "s"+d.extID(i), false)
	field("Title", "s"+title, true)
	b.WriteString("}")
	return b.String()
}

const base62Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// base62 writes v in width base-62 digits; in ASCII order the digits sort
// as their values, so the Ids sort as their record numbers.
func base62(v uint64, width int) string {
	b := make([]byte, width)
	for i := width - 1; i >= 0; i-- {
		b[i] = base62Digits[v%62]
		v /= 62
	}
	return string(b)
}

// sfID18 appends the 3-character case checksum that turns a 15-character
// Salesforce Id into its case-insensitive 18-character form: for each block
// of 5 characters, a bit per upper-case letter (the first character is bit
// 0), written as one of A-Z0-5. The algorithm is the one described at
// https://salesforce.stackexchange.com/questions/1653 ("What are Salesforce
// IDs composed of?").
func sfID18(id15 string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	suffix := make([]byte, 3)
	for block := range 3 {
		bits := 0
		for j := range 5 {
			if c := id15[block*5+j]; c >= 'A' && c <= 'Z' {
				bits |= 1 << j
			}
		}
		suffix[block] = alphabet[bits]
	}
	return id15 + string(suffix)
}

// mix is splitmix64's finaliser.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// fpBytes is a fingerprint as 8 big-endian bytes.
func fpBytes(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }
