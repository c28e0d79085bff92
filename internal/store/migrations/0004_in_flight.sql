-- syncd schema version 4: the values of the last write sent to Salesforce
-- for a row and never acknowledged (BeginPush sets them, ApplyPush clears
-- them), type-tagged like the shadow.

ALTER TABLE _syncd_links ADD COLUMN in_flight TEXT;
