-- This migration was emptied on purpose.
/* Nothing to do; really. */

-- ;
