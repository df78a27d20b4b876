-- strata:batch
UPDATE users SET active = true;
