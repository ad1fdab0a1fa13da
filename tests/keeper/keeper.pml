/* The keeper's coordination protocol (src/keeper/keeper_shm.c, keeper.c),
 * checked by spin: tests/keeper/run_spin.sh.
 *
 * N participants (keeper threads of library copies, in any processes) share
 * one owner lease and one demand slot each. Time is discrete: a Clock
 * process ticks once every live participant has run one iteration of its
 * loop (the real loop runs ten times per stale timeout: partial synchrony).
 * Ages count ticks since a lease was last written, saturating at STALE.
 * One participant may crash at ANY point, including between reading the
 * lease and its compare-and-swap; it then stops forever and leaves its
 * leases behind.
 *
 * Compare-and-swap on a lease: the real word is id | demand | stamp, and
 * every write carries the writer's current time, later than any stamp a
 * reader saw as stale; so the CAS succeeds exactly when nobody wrote the
 * word since it was read (modelled by the moved[] flags), or when the word
 * was free then and is free now (a free word is always 0).
 *
 * Properties (assertions; pan -DSAFETY also checks for deadlocks):
 *   mutex     never two participants spinning at once;
 *   takeover  while a live participant has demand, a live owner exists
 *             within TAKEOVER_BOUND ticks, whatever crashed (bounded
 *             liveness: the starvation counter never passes the bound);
 *   idle      nobody spins while no live demand slot exists and none has
 *             for more than IDLE_BOUND ticks (the linger).
 *
 * Sabotage (each must make pan report the matching assertion):
 *   -DSABOTAGE_STORE         check-then-store instead of compare-and-swap
 *   -DSABOTAGE_IGNORE_STALE  a lease never goes stale
 *   -DSABOTAGE_IGNORE_DEMAND the owner keeps spinning without demand */

#ifndef N
#define N 3
#endif
#define STALE 2          /* a lease this many ticks old is dead */
#define LINGER 1         /* the owner spins on this many ticks after demand */
#define TAKEOVER_BOUND (STALE + 1)
#define IDLE_BOUND (LINGER + 1)
#define MAXCRASH 1

byte owner_id = 0;       /* owner lease: 0 free, else participant + 1 */
byte owner_age = 0;
byte owner_version = 0; /* counts writes of the owner lease, modulo 3 */

bool slot_demand[N];     /* p's demand slot: demand bit */
bool slot_held[N];       /* p's demand slot is claimed */
byte slot_age[N];

byte since_demand[N];    /* ticks since p last saw live demand */
bool crashed[N];
byte n_crashed = 0;
bool done[N];            /* p finished this tick's iteration */
bool spinning[N];
byte n_spinning = 0;

#if N > 2
#define all_done ((done[0] || crashed[0]) && (done[1] || crashed[1]) && (done[2] || crashed[2]))
#else
#define all_done ((done[0] || crashed[0]) && (done[1] || crashed[1]))
#endif

/* Some participant publishes live demand right now (true staleness). */
#define live_demand(q) (slot_held[q] && slot_demand[q] && slot_age[q] < STALE)
#if N > 2
#define demand_now (live_demand(0) || live_demand(1) || live_demand(2))
#else
#define demand_now (live_demand(0) || live_demand(1))
#endif

byte starve = 0;         /* ticks: live demand, no live owner */
byte idle = 0;           /* ticks: no live demand slot anywhere */

#ifdef SABOTAGE_IGNORE_STALE
#define stale(age) false
#else
#define stale(age) (age >= STALE)
#endif

inline write_owner(value)
{
    owner_id = value;
    owner_age = 0;
    owner_version = (owner_version + 1) % 3
}

proctype Participant(byte p)
{
    bool want;
    bool owner = false;
    bool any;
    bool keep;
    byte seen_id;
    byte seen_age;
    byte seen_version;
    byte q;

    {
    do
    ::
        /* Simulations in this copy start and stop at will. */
        if
        :: want = true
        :: want = false
        fi;

        /* 1. Publish demand: refresh our slot (its own lease; claiming one
         *    is the same compare-and-swap as below), or free it when the
         *    thread has nothing to do. 2. Scan for live demand anywhere. */
        d_step {
            if
            :: want || owner -> slot_held[p] = true; slot_demand[p] = want; slot_age[p] = 0
            :: else -> slot_held[p] = false; slot_demand[p] = false
            fi;
            any = false;
            q = 0;
            do
            :: q < N ->
                if
                :: slot_held[q] && slot_demand[q] && !stale(slot_age[q]) -> any = true
                :: else
                fi;
                q++
            :: else -> break
            od;
            q = 0;
            if
            :: any -> since_demand[p] = 0
            :: else
            fi;
#ifdef SABOTAGE_IGNORE_DEMAND
            keep = true
#else
            keep = any || since_demand[p] <= LINGER
#endif
        }

        /* 3. Ownership: read the lease, then one compare-and-swap. A crash
         *    may fall between the two. */
        d_step { seen_id = owner_id; seen_age = owner_age; seen_version = owner_version }
        if
        :: seen_id == p + 1 && keep ->
            /* refresh; fails only if we were deposed */
            d_step {
                if
                :: owner_version == seen_version -> write_owner(p + 1); owner = true
                :: else -> owner = false
                fi
            }
        :: seen_id == p + 1 && !keep ->
            /* nobody needs us: give the lease back */
            d_step {
                if
                :: owner_version == seen_version -> write_owner(0)
                :: else
                fi;
                owner = false
            }
        :: seen_id != p + 1 && want && any && (seen_id == 0 || stale(seen_age)) ->
#ifdef SABOTAGE_STORE
            skip;  /* the check is done... */
            d_step { write_owner(p + 1); owner = true } /* ...then a plain store */
#else
            d_step {
                if
                :: (seen_id == 0 && owner_id == 0) ||
                   (seen_id != 0 && owner_version == seen_version) ->
                    write_owner(p + 1); owner = true
                :: else -> owner = false
                fi
            }
#endif
        :: else -> owner = false
        fi;
        d_step { seen_id = 0; seen_age = 0; seen_version = 0; any = false; keep = false; want = false };

        /* 4. Spin while owner. */
        if
        :: owner ->
            d_step {
                spinning[p] = true;
                n_spinning++;
                assert(n_spinning <= 1);                   /* mutex */
                assert(demand_now || idle <= IDLE_BOUND)   /* idle */
            }
            d_step { spinning[p] = false; n_spinning-- }
        :: else
        fi;

        /* 5. Wait for the next tick. */
        done[p] = true;
        !done[p]
    od
    } unless {
        /* Stops here for good (Crash() already stopped its spinning). */
        d_step {
            crashed[p];
            want = false; owner = false; any = false; keep = false;
            seen_id = 0; seen_age = 0; seen_version = 0; q = 0
        }
    }
}

/* Any one participant may crash, at any moment. */
active proctype Crash()
{
    byte p;
    do
    :: n_crashed < MAXCRASH ->
        atomic {
            if
            :: p = 0
            :: p = 1
#if N > 2
            :: p = 2
#endif
            fi;
            crashed[p] = true;
            n_crashed++;
            /* A dead process runs no kernel; its leases stay behind. What
             * only it would read is reset, to keep the state space small. */
            since_demand[p] = 0;
            if
            :: spinning[p] -> spinning[p] = false; n_spinning--
            :: else
            fi
        }
    :: n_crashed >= MAXCRASH -> break
    od
}

active proctype Clock()
{
    byte q;
    bool demand_live_participant;
    bool demand_slot_live;
    do
    :: atomic {
        all_done ->
        if
        :: owner_age < STALE -> owner_age++
        :: else
        fi;
        demand_live_participant = false;
        demand_slot_live = false;
        q = 0;
        do
        :: q < N ->
            if
            :: slot_age[q] < STALE -> slot_age[q]++
            :: else
            fi;
            if
            :: since_demand[q] <= LINGER -> since_demand[q]++
            :: else
            fi;
            if
            :: slot_held[q] && slot_demand[q] && !crashed[q] -> demand_live_participant = true
            :: else
            fi;
            if
            :: slot_held[q] && slot_demand[q] && slot_age[q] < STALE -> demand_slot_live = true
            :: else
            fi;
            done[q] = false;
            q++
        :: else -> break
        od;
        /* takeover: live demand and no live owner, for how long? */
        if
        :: demand_live_participant && (owner_id == 0 || crashed[owner_id - 1]) ->
            starve++;
            assert(starve <= TAKEOVER_BOUND)
        :: else -> starve = 0
        fi;
        if
        :: demand_slot_live -> idle = 0
        :: else -> if :: idle <= IDLE_BOUND -> idle++ :: else fi
        fi
       }
    od
}

init
{
    atomic {
        run Participant(0);
        run Participant(1);
#if N > 2
        run Participant(2);
#endif
    }
}
