SET lock_timeout = '5s';
CLUSTER users USING users_pkey;
