-- Never answers.
return function(text) while true do end end
