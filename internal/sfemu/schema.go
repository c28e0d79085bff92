package sfemu

import (
	"strings"
)

// Field is the describe metadata of one field (DescribeSObjectResult Field, SOAP API Developer Guide).
type Field struct {
	Name              string
	Label             string
	Type              string // id, reference, string, textarea, picklist, email, phone, url, boolean, int, double, currency, date, datetime
	Length            int
	Precision, Scale  int
	Digits            int
	Createable        bool
	Updateable        bool
	Nillable          bool
	ExternalID        bool
	Unique            bool
	CaseSensitive     bool
	IDLookup          bool
	NameField         bool
	Calculated        bool
	Formula           string
	Custom            bool
	DefaultedOnCreate bool
	Required          bool // enforced on insert/update (not nillable, createable, not defaulted)
	ReferenceTo       []string
	RelationshipName  string
	Picklist          []string
	Restricted        bool

	idx  int
	calc func(v *view) any // formula fields: computed at read time
}

// ObjectType is one sObject type.
type ObjectType struct {
	Name        string
	Label       string
	LabelPlural string
	KeyPrefix   string
	Custom      bool
	Createable  bool
	Updateable  bool
	Deletable   bool
	Fields      []*Field

	byName map[string]*Field // lower-case name
	// relationship name (lower-case) -> reference field
	rels map[string]*Field
	// fields stored per record (formulas are not stored)
	nstored int
	extIDs  []*Field // unique external id / idLookup fields that are indexed
}

// Field looks a field up by name, case-insensitively.
func (o *ObjectType) Field(name string) *Field {
	if f, ok := o.byName[name]; ok {
		return f
	}
	return o.byName[strings.ToLower(name)]
}

func (o *ObjectType) init() {
	o.byName = map[string]*Field{}
	o.rels = map[string]*Field{}
	n := 0
	for _, f := range o.Fields {
		f.idx = -1
		if f.calc == nil {
			f.idx = n
			n++
		}
		o.byName[strings.ToLower(f.Name)] = f
		o.byName[f.Name] = f
		if f.RelationshipName != "" {
			o.rels[strings.ToLower(f.RelationshipName)] = f
		}
		if f.ExternalID {
			o.extIDs = append(o.extIDs, f)
		}
	}
	o.nstored = n
}

func soapType(t string) string {
	switch t {
	case "id", "reference":
		return "tns:ID"
	case "boolean":
		return "xsd:boolean"
	case "int":
		return "xsd:int"
	case "double", "currency", "percent":
		return "xsd:double"
	case "date":
		return "xsd:date"
	case "datetime":
		return "xsd:dateTime"
	}
	return "xsd:string"
}

// Field constructors -------------------------------------------------------------------------

func fID() *Field {
	return &Field{Name: "Id", Label: "Contact ID", Type: "id", Length: 18, IDLookup: true}
}

func fStr(name, label string, length int, typ string) *Field {
	return &Field{Name: name, Label: label, Type: typ, Length: length, Createable: true, Updateable: true, Nillable: true}
}

func fRef(name, label, rel string, to ...string) *Field {
	return &Field{Name: name, Label: label, Type: "reference", Length: 18, Createable: true, Updateable: true,
		Nillable: true, ReferenceTo: to, RelationshipName: rel}
}

func fSysRef(name, label, rel string) *Field {
	return &Field{Name: name, Label: label, Type: "reference", Length: 18, ReferenceTo: []string{"User"},
		RelationshipName: rel, DefaultedOnCreate: true}
}

func fSysTime(name, label string) *Field {
	return &Field{Name: name, Label: label, Type: "datetime", DefaultedOnCreate: true}
}

func systemFields() []*Field {
	return []*Field{
		{Name: "OwnerId", Label: "Owner ID", Type: "reference", Length: 18, Createable: true, Updateable: true,
			DefaultedOnCreate: true, ReferenceTo: []string{"User"}, RelationshipName: "Owner"},
		fSysTime("CreatedDate", "Created Date"),
		fSysRef("CreatedById", "Created By ID", "CreatedBy"),
		fSysTime("LastModifiedDate", "Last Modified Date"),
		fSysRef("LastModifiedById", "Last Modified By ID", "LastModifiedBy"),
		fSysTime("SystemModstamp", "System Modstamp"),
	}
}

// Industry picklist values (standard Account.Industry values).
var industries = []string{"Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
	"Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering", "Entertainment",
	"Environmental", "Finance", "Food & Beverage", "Government", "Healthcare", "Hospitality", "Insurance",
	"Machinery", "Media", "Not For Profit", "Other", "Recreation", "Retail", "Shipping", "Technology",
	"Telecommunications", "Transportation", "Utilities"}

func newContactType() *ObjectType {
	id := fID()
	first := fStr("FirstName", "First Name", 40, "string")
	last := fStr("LastName", "Last Name", 80, "string")
	last.Nillable = false
	last.Required = true
	name := &Field{Name: "Name", Label: "Full Name", Type: "string", Length: 121, NameField: true}
	name.calc = func(v *view) any {
		f, _ := v.getName("FirstName").(string)
		l, _ := v.getName("LastName").(string)
		return strings.TrimSpace(f + " " + l)
	}
	fullName := &Field{Name: "Full_Name__c", Label: "Full Name", Type: "string", Length: 1300, Custom: true,
		Calculated: true, Nillable: true, Formula: `FirstName & " " & LastName`}
	fullName.calc = name.calc
	acctName := &Field{Name: "Account_Name__c", Label: "Account Name", Type: "string", Length: 1300, Custom: true,
		Calculated: true, Nillable: true, Formula: `Account.Name`}
	acctName.calc = func(v *view) any {
		p := v.parent("Account")
		if p == nil {
			return nil
		}
		return p.getName("Name")
	}
	fields := []*Field{
		id,
		{Name: "IsDeleted", Label: "Deleted", Type: "boolean", DefaultedOnCreate: true},
		{Name: "MasterRecordId", Label: "Master Record ID", Type: "reference", Length: 18, Nillable: true,
			ReferenceTo: []string{"Contact"}, RelationshipName: "MasterRecord"},
		fRef("AccountId", "Account ID", "Account", "Account"),
		last, first,
		{Name: "Salutation", Label: "Salutation", Type: "picklist", Length: 40, Createable: true, Updateable: true,
			Nillable: true, Picklist: []string{"Mr.", "Ms.", "Mrs.", "Dr.", "Prof."}},
		name,
		fStr("Email", "Email", 80, "email"),
		fStr("Phone", "Business Phone", 40, "phone"),
		fStr("MobilePhone", "Mobile Phone", 40, "phone"),
		fStr("Title", "Title", 128, "string"),
		fStr("Department", "Department", 80, "string"),
		fStr("MailingStreet", "Mailing Street", 255, "textarea"),
		fStr("MailingCity", "Mailing City", 40, "string"),
		fStr("MailingPostalCode", "Mailing Zip/Postal Code", 20, "string"),
		fStr("MailingCountry", "Mailing Country", 80, "string"),
		{Name: "Birthdate", Label: "Birthdate", Type: "date", Createable: true, Updateable: true, Nillable: true},
		{Name: "HasOptedOutOfEmail", Label: "Email Opt Out", Type: "boolean", Createable: true, Updateable: true,
			DefaultedOnCreate: true},
		{Name: "Syncd_Id__c", Label: "Syncd Id", Type: "string", Length: 36, Createable: true, Updateable: true,
			Nillable: true, Custom: true, ExternalID: true, Unique: true, IDLookup: true},
		{Name: "Legacy_Id__c", Label: "Legacy Id", Type: "string", Length: 20, Createable: true, Updateable: true,
			Nillable: true, Custom: true, ExternalID: true, IDLookup: true},
		fullName,
		acctName,
	}
	fields = append(fields, systemFields()...)
	o := &ObjectType{Name: "Contact", Label: "Contact", LabelPlural: "Contacts", KeyPrefix: "003",
		Createable: true, Updateable: true, Deletable: true, Fields: fields}
	o.init()
	return o
}

func newAccountType() *ObjectType {
	id := fID()
	id.Label = "Account ID"
	nameF := fStr("Name", "Account Name", 255, "string")
	nameF.Nillable = false
	nameF.Required = true
	nameF.NameField = true
	nameF.IDLookup = true
	fields := []*Field{
		id,
		{Name: "IsDeleted", Label: "Deleted", Type: "boolean", DefaultedOnCreate: true},
		{Name: "MasterRecordId", Label: "Master Record ID", Type: "reference", Length: 18, Nillable: true,
			ReferenceTo: []string{"Account"}, RelationshipName: "MasterRecord"},
		nameF,
		{Name: "Type", Label: "Account Type", Type: "picklist", Length: 255, Createable: true, Updateable: true,
			Nillable: true, Picklist: []string{"Prospect", "Customer - Direct", "Customer - Channel",
				"Channel Partner / Reseller", "Installation Partner", "Technology Partner", "Other"}},
		{Name: "Industry", Label: "Industry", Type: "picklist", Length: 255, Createable: true, Updateable: true,
			Nillable: true, Picklist: industries, Restricted: true},
		{Name: "AnnualRevenue", Label: "Annual Revenue", Type: "currency", Precision: 18, Scale: 0,
			Createable: true, Updateable: true, Nillable: true},
		{Name: "NumberOfEmployees", Label: "Employees", Type: "int", Digits: 8, Createable: true,
			Updateable: true, Nillable: true},
		fStr("Phone", "Account Phone", 40, "phone"),
		fStr("Website", "Website", 255, "url"),
		fStr("BillingCity", "Billing City", 40, "string"),
		fStr("BillingCountry", "Billing Country", 80, "string"),
		{Name: "Syncd_Id__c", Label: "Syncd Id", Type: "string", Length: 36, Createable: true, Updateable: true,
			Nillable: true, Custom: true, ExternalID: true, Unique: true, IDLookup: true},
	}
	fields = append(fields, systemFields()...)
	o := &ObjectType{Name: "Account", Label: "Account", LabelPlural: "Accounts", KeyPrefix: "001",
		Createable: true, Updateable: true, Deletable: true, Fields: fields}
	o.init()
	return o
}

func newUserType() *ObjectType {
	id := fID()
	id.Label = "User ID"
	fields := []*Field{
		id,
		{Name: "Username", Label: "Username", Type: "string", Length: 80, IDLookup: true, Unique: true},
		{Name: "FirstName", Label: "First Name", Type: "string", Length: 40, Nillable: true},
		{Name: "LastName", Label: "Last Name", Type: "string", Length: 80},
		{Name: "Name", Label: "Full Name", Type: "string", Length: 121, NameField: true},
		{Name: "Email", Label: "Email", Type: "email", Length: 128},
		{Name: "IsActive", Label: "Active", Type: "boolean"},
		fSysTime("CreatedDate", "Created Date"),
		fSysRef("CreatedById", "Created By ID", "CreatedBy"),
		fSysTime("LastModifiedDate", "Last Modified Date"),
		fSysRef("LastModifiedById", "Last Modified By ID", "LastModifiedBy"),
		fSysTime("SystemModstamp", "System Modstamp"),
	}
	o := &ObjectType{Name: "User", Label: "User", LabelPlural: "Users", KeyPrefix: "005", Fields: fields}
	o.init()
	return o
}
