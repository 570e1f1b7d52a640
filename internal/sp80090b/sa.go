package sp80090b

// Tuple counts for §6.3.5–6 from a suffix array. For every tuple length W,
// the suffixes that start with the same W-tuple are contiguous in suffix
// order, and they form one LCP interval: a maximal range whose neighbouring
// suffixes share at least W symbols. Walking the LCP array with a stack
// visits every interval once (its LCP value h, its size, and its parent's
// LCP value h'); the interval is the group of one W-tuple for every W in
// (h', h]. So Q[W], the count of the most common W-tuple, is the largest
// size of an interval with h ≥ W, and the number of pairs of equal W-tuples
// Σ C(count, 2) adds C(size, 2) for every W in (h', h].

// tupleCounts returns q and pairs indexed by tuple length W = 1 … v, where
// v is the length of the longest repeated substring: q[W] is the count of
// the most common W-tuple and pairs[W] = Σ over distinct W-tuples of
// C(count, 2). Index 0 is unused.
func tupleCounts(s []byte) (q []int, pairs []int64) {
	sa := suffixArray(s)
	lcp := lcpArray(s, sa)
	v := 0
	for _, h := range lcp {
		v = max(v, int(h))
	}
	best := make([]int, v+2)
	diff := make([]int64, v+2)
	type node struct{ h, lb int }
	stack := []node{{0, 0}}
	for i := 1; i <= len(s); i++ {
		cur := 0
		if i < len(s) {
			cur = int(lcp[i])
		}
		lb := i - 1
		for cur < stack[len(stack)-1].h {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			size := i - top.lb
			parent := max(cur, stack[len(stack)-1].h)
			best[top.h] = max(best[top.h], size)
			c := int64(size) * int64(size-1) / 2
			diff[parent+1] += c
			diff[top.h+1] -= c
			lb = top.lb
		}
		if cur > stack[len(stack)-1].h {
			stack = append(stack, node{cur, lb})
		}
	}
	q = make([]int, v+1)
	pairs = make([]int64, v+1)
	run := 1
	for w := v; w >= 1; w-- {
		run = max(run, best[w])
		q[w] = run
	}
	var acc int64
	for w := 1; w <= v; w++ {
		acc += diff[w]
		pairs[w] = acc
	}
	return q, pairs
}

// suffixArray sorts the suffixes of s by prefix doubling: after round k
// the suffixes are ordered by their first 2^k symbols, each round a stable
// two-pass counting sort on (rank of the first half, rank of the second).
func suffixArray(s []byte) []int32 {
	n := len(s)
	sa := make([]int32, n)
	rank := make([]int32, n)
	tmp := make([]int32, n)
	second := make([]int32, n)
	for i := range sa {
		rank[i] = int32(s[i])
	}
	countSort(sa, identity(tmp), rank, 256)
	rerank(sa, rank, tmp, func(a, b int32) bool { return s[a] == s[b] })
	for k := 1; k < n; k <<= 1 {
		// Order by the second half: suffixes without one first, then the
		// others in the order of their second half.
		m := 0
		for i := n - k; i < n; i++ {
			second[m] = int32(i)
			m++
		}
		for _, p := range sa {
			if int(p) >= k {
				second[m] = p - int32(k)
				m++
			}
		}
		countSort(sa, second, rank, n)
		kk := int32(k)
		rerank(sa, rank, tmp, func(a, b int32) bool {
			if rank[a] != rank[b] {
				return false
			}
			ra, rb := int32(-1), int32(-1)
			if int(a+kk) < n {
				ra = rank[a+kk]
			}
			if int(b+kk) < n {
				rb = rank[b+kk]
			}
			return ra == rb
		})
		if int(rank[sa[n-1]]) == n-1 {
			break
		}
	}
	return sa
}

func identity(p []int32) []int32 {
	for i := range p {
		p[i] = int32(i)
	}
	return p
}

// countSort writes into dst the positions of order stably sorted by key.
func countSort(dst, order, key []int32, keys int) {
	count := make([]int32, keys+1)
	for _, p := range order {
		count[key[p]+1]++
	}
	for i := 1; i <= keys; i++ {
		count[i] += count[i-1]
	}
	for _, p := range order {
		dst[count[key[p]]] = p
		count[key[p]]++
	}
}

// rerank gives sorted suffixes dense ranks; same reports equal keys.
func rerank(sa, rank, tmp []int32, same func(a, b int32) bool) {
	tmp[sa[0]] = 0
	for i := 1; i < len(sa); i++ {
		tmp[sa[i]] = tmp[sa[i-1]]
		if !same(sa[i-1], sa[i]) {
			tmp[sa[i]]++
		}
	}
	copy(rank, tmp)
}

// lcpArray returns lcp[i] = the longest common prefix of the suffixes at
// sa[i−1] and sa[i] (lcp[0] = 0), by Kasai et al.'s linear algorithm.
func lcpArray(s []byte, sa []int32) []int32 {
	n := len(s)
	rank := make([]int32, n)
	for i, p := range sa {
		rank[p] = int32(i)
	}
	lcp := make([]int32, n)
	h := 0
	for i := 0; i < n; i++ {
		r := rank[i]
		if r == 0 {
			h = 0
			continue
		}
		j := int(sa[r-1])
		for i+h < n && j+h < n && s[i+h] == s[j+h] {
			h++
		}
		lcp[r] = int32(h)
		if h > 0 {
			h--
		}
	}
	return lcp
}
