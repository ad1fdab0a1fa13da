/* The keeper's coordination protocol (src/keeper/keeper_shm.c and the loop
 * in src/keeper/keeper.c), checked by spin: tests/keeper/run_spin.sh.
 *
 * N participants (the keeper threads of library copies, in any processes)
 * share one owner lease and have one demand slot each. Time is discrete: the
 * Clock ticks once every live participant has run one iteration of its loop
 * (the real loop runs ten times per stale timeout: partial synchrony). Ages
 * count ticks since a lease was last written, saturating at STALE. One
 * participant may crash at ANY point, including between reading the owner
 * lease and its compare-and-swap; it then stops forever and leaves its
 * leases behind, to go stale.
 *
 * One iteration, as in keeper_thread_main():
 *   A  simulations start or stop (demand changes at will); publish demand
 *      in our slot; scan every slot for live demand; decide keep (demand
 *      seen, or within the linger);
 *   B  read the owner lease;
 *   C  one compare-and-swap on it: refresh it (holder, keep), give it back
 *      (holder, nothing to keep), or take it (free or stale, and demand);
 *      spin if we own it; end of iteration.
 *
 * Compare-and-swap on a lease: the real word is id | demand | stamp, and
 * every write carries the writer's current time, later than any stamp a
 * reader saw as stale, so the CAS succeeds exactly when nobody wrote the
 * word since it was read, or when it was free (0) then and is free now.
 * Here a write counter modulo 3 stands for the stamp: between one
 * participant's read and its CAS (one iteration) the others write the
 * lease at most N - 1 = 2 times, so the counter cannot come round.
 *
 * Properties (assertions; pan -DSAFETY also checks for deadlocks):
 *   mutex     never two live participants spinning (owning) at once;
 *   takeover  while a live participant has demand, a live owner exists
 *             within TAKEOVER_BOUND ticks, whatever crashed (bounded
 *             liveness: a starvation counter never passes the bound);
 *   idle      nobody spins while no live demand slot exists and none has
 *             for more than IDLE_BOUND ticks (the linger).
 *
 * Sabotage (each must make pan report the matching assertion):
 *   -DSABOTAGE_STORE         check-then-store instead of compare-and-swap
 *   -DSABOTAGE_IGNORE_STALE  the owner lease never goes stale
 *   -DSABOTAGE_IGNORE_DEMAND the owner keeps spinning without demand */

#ifndef N
#define N 3
#endif
#ifndef MAXCRASH
#define MAXCRASH 1
#endif
#define STALE 2          /* a lease this many ticks old is dead */
#define LINGER 1         /* the owner spins on this many ticks after demand */
#define TAKEOVER_BOUND (STALE + 1)
#define IDLE_BOUND (LINGER + 1)

byte owner_id = 0;       /* owner lease: 0 free, else participant + 1 */
byte owner_age = 0;
byte owner_version = 0;  /* writes of the owner lease, modulo 3 */

bool slot_demand[N];     /* p's slot: demand bit */
byte slot_age[N];        /* ticks since p refreshed it (0 without demand) */
byte since_demand[N];    /* the holder's ticks since it last saw demand */

bool owns[N];            /* p believes it owns the lease and spins */
bool crashed[N];
byte n_crashed = 0;
bool done[N];            /* p finished this tick's iteration */

byte starve = 0;         /* ticks: live demand, no live owner */
byte idle = 0;           /* ticks: no live demand slot anywhere */

#define stale(age) (age >= STALE)
#ifdef SABOTAGE_IGNORE_STALE
#define owner_stale(age) false
#else
#define owner_stale(age) stale(age)
#endif

/* What participants see (with the sabotage) and what is true. */
#define seen_demand(q) (slot_demand[q] && !stale(slot_age[q]))
#define live_demand(q) (slot_demand[q] && slot_age[q] < STALE)
#if N > 2
#define any_seen_demand (seen_demand(0) || seen_demand(1) || seen_demand(2))
#define demand_now (live_demand(0) || live_demand(1) || live_demand(2))
#define owners ((owns[0] && !crashed[0]) + (owns[1] && !crashed[1]) + (owns[2] && !crashed[2]))
#define all_done ((done[0] || crashed[0]) && (done[1] || crashed[1]) && (done[2] || crashed[2]))
#else
#define any_seen_demand (seen_demand(0) || seen_demand(1))
#define demand_now (live_demand(0) || live_demand(1))
#define owners ((owns[0] && !crashed[0]) + (owns[1] && !crashed[1]))
#define all_done ((done[0] || crashed[0]) && (done[1] || crashed[1]))
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
    bool any;
    bool keep;
    byte seen_id;
    byte seen_age;
    byte seen_version;

    {
    do
    ::
        /* A. Demand changes at will; publish it; scan; keep? */
        atomic {
            if
            :: want = true
            :: want = false
            fi;
            slot_demand[p] = want;
            slot_age[p] = 0;
            any = any_seen_demand;
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

        /* B. Read the owner lease. */
        d_step { seen_id = owner_id; seen_age = owner_age; seen_version = owner_version }

        /* C. One compare-and-swap; spin if owner; end of iteration. */
        d_step {
            if
            :: seen_id == p + 1 && keep ->
                /* refresh: fails only if we were deposed */
                if
                :: owner_version == seen_version -> write_owner(p + 1); owns[p] = true
                :: else -> owns[p] = false
                fi
            :: seen_id == p + 1 && !keep ->
                /* nobody needs us: give the lease back */
                if
                :: owner_version == seen_version -> write_owner(0)
                :: else
                fi;
                owns[p] = false
            :: seen_id != p + 1 && want && any && (seen_id == 0 || owner_stale(seen_age)) ->
#ifdef SABOTAGE_STORE
                /* the check was made in B: store regardless */
                write_owner(p + 1); owns[p] = true
#else
                if
                :: (seen_id == 0 && owner_id == 0) ||
                   (seen_id != 0 && owner_version == seen_version) ->
                    write_owner(p + 1); owns[p] = true
                :: else -> owns[p] = false
                fi
#endif
            :: else -> owns[p] = false
            fi;
            if
            :: owns[p] ->
                assert(owners <= 1);                      /* mutex */
                assert(demand_now || idle <= IDLE_BOUND)  /* idle */
            :: else ->
                since_demand[p] = 0  /* only the holder uses it: normalised */
            fi;
            want = false; any = false; keep = false;
            seen_id = 0; seen_age = 0; seen_version = 0;
            done[p] = true
        }
        !done[p]
    od
    } unless {
        /* Stopped for good. Crash() already cleared what it ran. */
        d_step {
            crashed[p];
            want = false; any = false; keep = false;
            seen_id = 0; seen_age = 0; seen_version = 0
        }
    }
}

/* Any one participant may crash, at any moment. */
active proctype Crash()
{
    do
    :: n_crashed < MAXCRASH ->
        atomic {
            if
            :: crashed[0] = true; owns[0] = false; since_demand[0] = 0
            :: crashed[1] = true; owns[1] = false; since_demand[1] = 0
#if N > 2
            :: crashed[2] = true; owns[2] = false; since_demand[2] = 0
#endif
            fi;
            n_crashed++
        }
    :: n_crashed >= MAXCRASH -> break
    od
}

active proctype Clock()
{
    byte q;
    bool demand_by_live;
    do
    :: d_step {
        all_done;
        if
        :: owner_age < STALE -> owner_age++
        :: else
        fi;
        demand_by_live = false;
        q = 0;
        do
        :: q < N ->
            if
            :: slot_demand[q] && slot_age[q] < STALE -> slot_age[q]++
            :: else
            fi;
            if
            :: owns[q] && since_demand[q] <= LINGER -> since_demand[q]++
            :: else
            fi;
            if
            :: slot_demand[q] && !crashed[q] -> demand_by_live = true
            :: else
            fi;
            done[q] = false;
            q++
        :: else -> break
        od;
        q = 0;
        /* takeover: live demand and no live owner, for how long? */
        if
        :: demand_by_live && (owner_id == 0 || crashed[owner_id - 1]) ->
            starve++;
            assert(starve <= TAKEOVER_BOUND)
        :: else -> starve = 0
        fi;
        demand_by_live = false;
        if
        :: demand_now -> idle = 0
        :: !demand_now && idle <= IDLE_BOUND -> idle++
        :: else
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
