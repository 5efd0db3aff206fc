return function(text) return text:reverse() end
