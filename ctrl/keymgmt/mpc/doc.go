// Package mpc keeps backups of seeds and keyrings under threshold (t-of-n)
// custody: they are encrypted to a cluster SM2 public key whose private key no
// node ever holds, and any t of the n nodes, chosen at request time, decrypt
// them together.
//
// # Protocol
//
// Key generation (epoch 1) is Feldman VSS over the SM2 curve, run by every
// node as a dealer: node d draws f_d(z) = a_0 + a_1 z + … + a_{t−1} z^{t−1},
// publishes C_k = a_k·G and sends s_dj = f_d(j) to node j, encrypted to j's
// own SM2 key; the whole Dealing is signed with d's SM2 key (Node.DealKey).
// Node j checks the signature and s_dj·G = Σ C_k·j^k (Node.Check); a share
// that fails gives a signed Complaint. Every node then closes the round with
// the same broadcast transcript (Node.Finish):
//
//   - a dealing with a bad signature, for another epoch or with the wrong t, n
//     is dropped (as if never received);
//   - a dealer that sent two different dealings is excluded;
//   - a dealer accused by any validly signed complaint of the round is
//     excluded (no justification phase: an accuser can exclude an honest
//     dealer, which costs availability, never secrecy);
//   - the remaining dealers form QUAL; fewer than t fails the round.
//
// Node i's share is x_i = Σ_{d∈QUAL} s_di, the aggregated commitments are
// A_k = Σ_{d∈QUAL} C_dk, the cluster key is Y = A_0 and node j's public share
// is Y_j = Σ A_k·j^k (PublicState). Shares are kept sealed: an SM2 ciphertext
// to the node's own key, opened only for the duration of a use.
//
// A backup is an ordinary SM2 ciphertext C1 ‖ C3 ‖ C2 to Y (Encrypt). To
// recover it, each chosen node returns D_i = x_i·C1 with a Chaum–Pedersen
// proof that log_G(Y_i) = log_C1(D_i), Fiat–Shamir with SM3
// (Node.PartialDecrypt). Combine drops every partial whose proof fails,
// interpolates t good ones in the exponent, Σ λ_i·D_i = x·C1 = (x2, y2), and
// finishes SM2 decryption: M = C2 ⊕ KDF(x2‖y2), checked against
// C3 = SM3(x2‖M‖y2).
//
// A proactive refresh (epoch e+1, Node.DealRefresh) is the same round with
// every polynomial's constant term 0 (C_0 must be the point at infinity):
// shares and A_1…A_{t−1} change, Y and every backup stay valid, and shares
// of different epochs no longer interpolate to x.
//
// # Constant time
//
// Secret scalars (polynomial coefficients, shares, proof nonces and
// responses) are filippo.io/bigmod values modulo the group order and enter
// point multiplication as fixed 32-byte strings, where gmsm's SM2 arithmetic
// is constant-time. math/big is used only for public values: the curve
// parameters, point coordinates of commitments, public shares and ciphertext
// points through the elliptic.Curve API, Lagrange coefficients (they depend
// on public indices only) and the Fiat–Shamir challenge. One secret passes
// through big.Int coordinates: the combined point x·C1 inside Combine, which
// the elliptic.Curve API of gmsm offers no other way to add up.
//
// # Transport and operators
//
// Nodes exchange typed messages (Dealing, Complaint, Partial, PublicState)
// with strictly validated binary encodings. For recovery over the network,
// PartialHandler serves a node's partials and FetchPartial asks for them, both
// over TLS 1.3 with client certificates verified on both sides (MutualTLS).
// RecoverHandler is the operator's endpoint: it demands two factors, a client
// certificate from the operators' CA naming a registered operator and that
// operator's TOTP code (RFC 6238, single use; the code is computed by
// github.com/pquerna/otp, the single use and the lockout are this
// package's), then gathers partials from all
// nodes and combines them. The daemon puts the same two factors
// (Authenticator) in front of the other operator requests (mpcsvc).
//
// What a node backs up of its own key material (its seeds and keyring
// state) is the daemon's business: its encoding, Export, is mpcsvc's
// (docs/mpc.md, "Exports").
//
// # Broadcast of rounds
//
// Cluster.Run coordinates a key generation or refresh over the same mutual
// TLS (RoundHandler on every node, one Participant each): deal, check (each
// node's complaints and its signed Attestation of them), prepare (each node
// votes, once per epoch and durably, for the SM3 digest of the canonical
// transcript holding every node's dealing and attestation and exactly the
// attested complaints), commit (each node finishes only on the votes of all
// n nodes for its digest). The coordinator is trusted for liveness only: it
// cannot forge, drop, add or split, only stall or deliver the commit
// partially, which the next Run repairs (catch-up). The
// refresh timer and persistence (ParticipantOptions.OnFinish, VoteStore)
// belong to the caller; otkd run does both (ctrl/keymgmt/mpc/mpcsvc, docs/mpc.md).
package mpc
