-- Spins past its CPU quota.
while true do end
