// The CustomerStore module; see README's module map.
