package sfemu

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

var (
	firstNames = boxed("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
		"Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles",
		"Karen", "Amélie", "José", "Zoë", "Søren", "Łukasz", "Aoife", "Mei", "Hiroshi", "Fatima", "Olu")
	lastNames = boxed("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
		"Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
		"Martin", "O'Brien", "Müller", "Nguyen", "Kowalski", "Dubois", "Rossi", "Tanaka", "Okafor", "Silva", "Van der Berg")
	titles = boxed("CEO", "CFO", "VP Sales", "Account Manager", "Software Engineer", "Buyer", "Office Manager",
		"Marketing Director", "Procurement Lead", "Data Analyst", "SVP, Operations", "Head of IT")
	departments = boxed("Sales", "Finance", "Engineering", "Marketing", "Operations", "Procurement", "IT", "Legal")
	cities      = boxed("San Francisco", "New York", "London", "Paris", "Berlin", "Tokyo", "São Paulo", "Lagos",
		"Sydney", "Toronto", "Chicago", "Austin")
	countries = boxed("USA", "USA", "United Kingdom", "France", "Germany", "Japan", "Brazil", "Nigeria",
		"Australia", "Canada", "USA", "USA")
	streets = boxed("1 Market St", "350 Fifth Avenue", "10 Downing St", "5 Rue de Rivoli", "Unter den Linden 77",
		"1-1 Chiyoda", "Av. Paulista 1000", "12 Marina Rd", "200 George St", "100 King St W", "233 S Wacker Dr",
		"500 Congress Ave\nSuite 200")
	salutations     = boxed("Mr.", "Ms.", "Mrs.", "Dr.", nil)
	boxTrue     any = true
	boxFalse    any = false
)

func boxed(xs ...any) []any { return xs }

// SeedContacts adds n deterministic, realistic Contacts (and about one Account per 10 Contacts,
// up to 10,000; 70% of Contacts are linked). Records are stamped over the seconds before
// now, about 100 per second, so many share a timestamp. It is fast for n = 1,000,000.
func (s *Server) SeedContacts(n int) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	co, ao := s.objs["contact"], s.objs["account"]
	rng := rand.New(rand.NewPCG(uint64(co.seq)+1, 0x5eed))
	now := s.nowSec()
	var lastSec int64 = -1
	var lastBox any
	stamp := func(t time.Time) any {
		if t.Unix() != lastSec {
			lastSec, lastBox = t.Unix(), t
		}
		return lastBox
	}
	user := any(s.userID)
	nAcc := min(max(n/10, 1), 10000)
	accIDs := make([]any, 0, nAcc)
	af := func(name string) int { return ao.t.Field(name).idx }
	for i := 0; i < nAcc; i++ {
		r := &record{vals: make([]any, ao.t.nstored)}
		ao.seq++
		r.id = makeID("001", ao.seq)
		ts := stamp(now.Add(-time.Duration(nAcc-i) * time.Second))
		v := r.vals
		v[af("Id")] = r.id
		v[af("IsDeleted")] = boxFalse
		v[af("Name")] = fmt.Sprintf("%s %s %d", lastNames[rng.IntN(len(lastNames))], []string{"Inc", "LLC", "GmbH", "Ltd", "SA", "Group"}[rng.IntN(6)], ao.seq)
		v[af("Industry")] = industries[rng.IntN(len(industries))]
		v[af("Type")] = "Customer - Direct"
		v[af("AnnualRevenue")] = float64(rng.IntN(1000)) * 100000
		v[af("NumberOfEmployees")] = float64(rng.IntN(5000) + 1)
		v[af("Phone")] = fmt.Sprintf("+1 415 555 %04d", rng.IntN(10000))
		v[af("BillingCity")] = cities[i%len(cities)]
		v[af("BillingCountry")] = countries[i%len(countries)]
		for _, nm := range []string{"CreatedDate", "LastModifiedDate", "SystemModstamp"} {
			v[af(nm)] = ts
		}
		for _, nm := range []string{"OwnerId", "CreatedById", "LastModifiedById"} {
			v[af(nm)] = user
		}
		ao.put(nil, r)
		accIDs = append(accIDs, r.id)
	}
	cf := func(name string) int { return co.t.Field(name).idx }
	iID, iDel, iAcc, iLast, iFirst, iSal := cf("Id"), cf("IsDeleted"), cf("AccountId"), cf("LastName"), cf("FirstName"), cf("Salutation")
	iEmail, iPhone, iMobile, iTitle, iDept := cf("Email"), cf("Phone"), cf("MobilePhone"), cf("Title"), cf("Department")
	iStreet, iCity, iZip, iCountry, iBirth, iOpt := cf("MailingStreet"), cf("MailingCity"), cf("MailingPostalCode"), cf("MailingCountry"), cf("Birthdate"), cf("HasOptedOutOfEmail")
	iOwner, iCBy, iMBy, iCD, iLMD, iSMS := cf("OwnerId"), cf("CreatedById"), cf("LastModifiedById"), cf("CreatedDate"), cf("LastModifiedDate"), cf("SystemModstamp")
	co.rows = append(make([]*record, 0, len(co.rows)+n), co.rows...)
	base := now.Add(-time.Duration(n/100) * time.Second)
	for i := 0; i < n; i++ {
		r := &record{vals: make([]any, co.t.nstored)}
		co.seq++
		r.id = makeID("003", co.seq)
		v := r.vals
		fi, li := rng.IntN(len(firstNames)), rng.IntN(len(lastNames))
		v[iID] = r.id
		v[iDel] = boxFalse
		if rng.IntN(10) < 7 {
			v[iAcc] = accIDs[rng.IntN(len(accIDs))]
		}
		v[iFirst] = firstNames[fi]
		v[iLast] = lastNames[li]
		v[iSal] = salutations[rng.IntN(len(salutations))]
		v[iEmail] = "contact" + strconv.FormatUint(co.seq, 10) + "@example.com"
		v[iPhone] = "+1 415 555 " + strconv.Itoa(1000+rng.IntN(9000))
		if rng.IntN(2) == 0 {
			v[iMobile] = "+1 650 555 " + strconv.Itoa(1000+rng.IntN(9000))
		}
		v[iTitle] = titles[rng.IntN(len(titles))]
		v[iDept] = departments[rng.IntN(len(departments))]
		ci := rng.IntN(len(cities))
		v[iStreet] = streets[ci]
		v[iCity] = cities[ci]
		v[iZip] = strconv.Itoa(10000 + rng.IntN(89999))
		v[iCountry] = countries[ci]
		if rng.IntN(3) > 0 {
			v[iBirth] = time.Date(1950+rng.IntN(50), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC).Format("2006-01-02")
		}
		if rng.IntN(10) == 0 {
			v[iOpt] = boxTrue
		} else {
			v[iOpt] = boxFalse
		}
		ts := stamp(base.Add(time.Duration(i/100) * time.Second))
		v[iCD], v[iLMD], v[iSMS] = ts, ts, ts
		v[iOwner], v[iCBy], v[iMBy] = user, user, user
		co.byID[r.id] = len(co.rows)
		co.rows = append(co.rows, r)
	}
}
