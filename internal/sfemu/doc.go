package sfemu

// What the emulator implements (sources: shared/reference/salesforce-protocol.md, cited §N in
// the code and tests):
//
//   - OAuth (§1): /services/oauth2/token (form-encoded only) for authorization_code (+PKCE S256),
//     refresh_token (optional rotation; reuse revokes the chain; concurrent refresh of one token
//     refused), password, client_credentials and JWT bearer (RS256, iss/sub/aud/exp);
//     /authorize HTML login + consent (code + state, access_denied); /revoke; /userinfo; /id/.
//   - Sessions: TTL on the emulator clock, ExpireSessions, 401 INVALID_SESSION_ID, and the
//     "not valid for use with the REST API" variant for tokens without the api scope.
//   - REST: /services/data/ (versions, unauthenticated, uncounted), /vXX.X/, /limits,
//     /limits/recordCount, /sobjects, /sobjects/{O}, /describe, rows by id and by external id
//     (GET, PATCH upsert with version-dependent status, DELETE), If-Modified-Since,
//     If-Unmodified-Since, /updated and /deleted, /query and /queryAll with paging, and
//     sObject Collections (create, update, upsert, delete, retrieve).
//   - Limits: Sforce-Limit-Info on every data response, one call per request (each query page,
//     each collection), 403 REQUEST_LIMIT_EXCEEDED once exhausted.
//   - Control: Go API (Insert, Update, Delete, HardDelete, EmptyRecycleBin, Merge,
//     TouchSystemModstamp, SetSystemFields, Get, All, Count, SeedContacts, MintSession,
//     MintSessionScope, ExpireSessions, RevokeRefreshToken, ExpireQueryLocators, SetClock,
//     Advance, Freeze, Now, APIUsage, SetDailyLimit, ResetAPIUsage, SetLatency, SetMaxPageSize,
//     SetCommitDelay, SetRecordLocked, Fail, ClearFaults, Requests, ResetRequests, Save, Load,
//     Close) and the same over HTTP under /__sfemu/ (see handleAdmin).
//   - Bulk API 2.0 (bulk.go): query jobs with CSV result sets paged by Sforce-Locator and
//     maxRecords, ingest jobs with successfulResults/failedResults/unprocessedrecords, states
//     moving in the background (SetBulkConfig: processing delay, batch size, lock and
//     job-failure faults).
//
// Knowingly not implemented: Composite (/composite), composite batch/graph/tree, Bulk API 1.0,
// SOAP login, parent-to-child (child relationship) subqueries, search,
// per-app usage in Sforce-Limit-Info, the concurrent long-running request limit, a rolling 24 h
// window for API usage (it is a counter; ResetAPIUsage resets it), the 15-day recycle-bin purge,
// ETag/If-Match, field-level security, sharing, validation rules beyond required/type/length/
// email/restricted picklist/unique, and objects other than Account, Contact and User.
